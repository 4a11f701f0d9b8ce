import fc from "fast-check";

/**
 * fast-check arbitraries for fuzzing Berth's inputs from the route table's zod schemas, through
 * their JSON Schema (`z.toJSONSchema`): values a schema accepts but that are odd (empty, huge,
 * NUL, emoji, path tricks, boundary numbers), and values it does not. Written here because
 * zod-fast-check supports zod 3 only; this covers what zod 4 emits for Berth's schemas (objects,
 * strings with formats, lengths and enums, numbers with bounds, arrays, unions, records).
 */

type JsonSchema = {
  $ref?: string;
  $defs?: Record<string, JsonSchema>;
  type?: string | string[];
  properties?: Record<string, JsonSchema>;
  required?: string[];
  additionalProperties?: boolean | JsonSchema;
  items?: JsonSchema;
  maxItems?: number;
  enum?: unknown[];
  const?: unknown;
  anyOf?: JsonSchema[];
  oneOf?: JsonSchema[];
  format?: string;
  minLength?: number;
  maxLength?: number;
  pattern?: string;
  minimum?: number;
  maximum?: number;
};

/** Strings any handler should survive: empty, NUL, control and astral characters, tricks, long. */
export const oddString = fc.oneof(
  fc.string({ unit: "binary", maxLength: 40 }),
  fc.constantFrom(
    "",
    " ",
    "\u0000",
    "a\u0000b",
    "\ud83d\udca5",
    "\ud800", // a lone surrogate
    "../../etc/passwd",
    "<script>alert(1)</script>",
    "'; drop table users; --",
    "%00",
    "null",
    "-1",
    "1e309",
    "__proto__",
    "constructor",
    "x".repeat(5000),
    "é".repeat(3000),
  ),
);

const oddNumber = fc.oneof(
  fc.integer(),
  fc.double({ noNaN: true }),
  fc.constantFrom(0, -0, -1, 2 ** 31, 2 ** 53, -(2 ** 53), 1e308, Number.MIN_VALUE, 0.5),
);

/** Any JSON value, sometimes nested deep. */
export const anyJson = fc.oneof(
  { weight: 4, arbitrary: fc.jsonValue({ maxDepth: 3 }) },
  {
    weight: 1,
    arbitrary: fc.integer({ min: 50, max: 3000 }).map((depth) => {
      let v: unknown = 1;
      for (let i = 0; i < depth; i++) v = [v];
      return v;
    }),
  },
);

/**
 * Values `schema` accepts, odd ones included. `ids` are real values (ids, slugs) a uuid or a
 * string is sometimes drawn from, so that cases reach past "not found".
 */
export function valid(schema: JsonSchema, ids: string[] = [], root: JsonSchema = schema): fc.Arbitrary<unknown> {
  if (schema.$ref) {
    const name = schema.$ref.replace("#/$defs/", "");
    return valid(root.$defs?.[name] ?? {}, ids, root);
  }
  if (schema.const !== undefined) return fc.constant(schema.const);
  if (schema.enum) return fc.constantFrom(...schema.enum);
  const union = schema.anyOf ?? schema.oneOf;
  if (union) return fc.oneof(...union.map((s) => valid(s, ids, root)));
  const type = Array.isArray(schema.type) ? schema.type[0] : schema.type;
  switch (type) {
    case "object": {
      const shape: Record<string, fc.Arbitrary<unknown>> = {};
      for (const [key, s] of Object.entries(schema.properties ?? {})) {
        // Checked beyond what JSON Schema says (an address): real ones too, so the check is passed.
        shape[key] = key === "email" ? fc.oneof(fc.emailAddress(), valid(s, ids, root)) : valid(s, ids, root);
      }
      const known = fc.record(shape, { requiredKeys: schema.required ?? [] });
      if (!schema.properties && schema.additionalProperties !== false) {
        const values =
          typeof schema.additionalProperties === "object" ? valid(schema.additionalProperties, ids, root) : anyJson;
        return fc.dictionary(oddString, values, { maxKeys: 8 });
      }
      return known;
    }
    case "array":
      return fc.array(schema.items ? valid(schema.items, ids, root) : anyJson, { maxLength: schema.maxItems ?? 8 });
    case "string": {
      if (schema.format === "uuid") return fc.oneof(fc.uuid(), ...(ids.length ? [fc.constantFrom(...ids)] : []));
      const known = ids.filter(
        (id) => id.length >= (schema.minLength ?? 0) && id.length <= (schema.maxLength ?? Infinity),
      );
      const min = schema.minLength ?? 0;
      const max = Math.min(schema.maxLength ?? 300, 5000);
      if (schema.pattern) {
        const matching = fc
          .stringMatching(new RegExp(schema.pattern))
          .filter((v) => v.length >= min && v.length <= max);
        return fc.oneof(
          { weight: 3, arbitrary: matching },
          ...(known.length ? [fc.constantFrom(...known)] : []),
          oddString,
        );
      }
      return fc.oneof(
        ...(known.length ? [fc.constantFrom(...known)] : []),
        fc.string({ unit: "binary", minLength: min, maxLength: Math.min(max, 40) }),
        oddString.filter((s) => s.length >= min && s.length <= max),
        fc.constant("x".repeat(max)),
      );
    }
    case "integer": {
      const min = schema.minimum ?? -(2 ** 53) + 1;
      const max = schema.maximum ?? 2 ** 53 - 1;
      return fc.oneof(
        fc.integer({ min: Math.max(min, -(2 ** 31)), max: Math.min(max, 2 ** 31 - 1) }),
        fc.constantFrom(min, max),
      );
    }
    case "number":
      return oddNumber.filter((n) => n >= (schema.minimum ?? -Infinity) && n <= (schema.maximum ?? Infinity));
    case "boolean":
      return fc.boolean();
    case "null":
      return fc.constant(null);
    default:
      return anyJson;
  }
}

/** A value `schema` would accept with one field made wrong (a type it does not take), or an unknown key. */
export function almost(schema: JsonSchema, ids: string[] = []): fc.Arbitrary<unknown> {
  return fc.tuple(valid(schema, ids), anyJson, oddString).map(([value, wrong, key]) => {
    if (typeof value !== "object" || value === null || Array.isArray(value)) return wrong;
    const keys = Object.keys(value);
    const copy: Record<string, unknown> = { ...value };
    if (keys.length && key.length % 2) copy[keys[key.length % keys.length] as string] = wrong;
    else copy[key] = wrong;
    return copy;
  });
}

/** A request body: JSON from the schema (mostly), any JSON, or bytes that are not JSON at all. */
export function body(schema: JsonSchema | undefined, ids: string[]): fc.Arbitrary<string> {
  const json = (a: fc.Arbitrary<unknown>) => a.map((v) => JSON.stringify(v) ?? "null");
  return fc.oneof(
    ...(schema
      ? [
          { weight: 4, arbitrary: json(valid(schema, ids)) },
          { weight: 2, arbitrary: json(almost(schema, ids)) },
        ]
      : []),
    { weight: 1, arbitrary: json(anyJson) },
    {
      weight: 1,
      arbitrary: fc.oneof(
        fc.string({ unit: "binary", maxLength: 200 }),
        fc.constantFrom("", "{", "[", '{"a":', "{}}", "\u0000", "\ufeff{}", "nul", "1e99999", '"\\ud800"'),
      ),
    },
  );
}

/** Percent-encodes any string, lone surrogates too (as their UTF-8-ish bytes, which decode to nothing valid). */
const encode = (s: string) =>
  [...s].map((c) => (c.length === 1 && c >= "\ud800" && c <= "\udfff" ? "%ED%A0%80" : encodeURIComponent(c))).join("");

/**
 * A path parameter: one of `ids`, a random uuid, or anything at all (percent-encoded, or raw
 * tricks). Never empty (that is another route) and at most 4 KiB encoded: Node answers a request
 * line and headers over 16 KiB with its own 431, before Berth sees them.
 */
export function pathParam(ids: string[]): fc.Arbitrary<string> {
  return fc.oneof(
    ...(ids.length ? [fc.constantFrom(...ids)] : []),
    fc.uuid(),
    oddString.map(encode).filter((s) => s.length > 0 && s.length <= 4096),
    fc.constantFrom("%ff", "%zz", "a%00b", "%2e%2e", "%2F", "x".repeat(3000)),
  );
}

/** A query string: the schema's keys with odd values, and unknown keys. */
export function query(schema: JsonSchema | undefined, ids: string[]): fc.Arbitrary<string> {
  const keys = Object.keys(schema?.properties ?? {});
  const value = fc.oneof(oddString, ...(ids.length ? [fc.constantFrom(...ids)] : []), fc.uuid());
  return fc
    .array(fc.tuple(fc.oneof(...(keys.length ? [fc.constantFrom(...keys)] : []), oddString), value), { maxLength: 4 })
    .map((pairs) => (pairs.length ? `?${pairs.map(([k, v]) => `${encode(k)}=${encode(v)}`).join("&")}` : ""))
    .filter((q) => q.length <= 4096);
}

/** What a client may say its body is. */
export const contentType = fc.constantFrom(
  "application/json",
  "application/json; charset=utf-8",
  "application/JSON",
  "application/json; charset=latin1",
  "text/plain",
  "application/x-www-form-urlencoded",
  "multipart/form-data; boundary=x",
  undefined,
);
