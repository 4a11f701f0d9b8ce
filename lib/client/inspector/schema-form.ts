/**
 * The inspector's argument form, without React: a tool's `inputSchema` (JSON Schema) mapped to
 * form fields, and the form's values (strings and booleans, as inputs hold them) coerced back to
 * the tool's arguments, with per-field errors.
 *
 * Why our own mapping and not a JSON-schema form library (@rjsf/core with its shadcn theme, or
 * similar): those bring a validator (ajv) and a widget registry, well over 100 kB of JS for the
 * dashboard, to render what MCP tools actually declare, which is flat or shallow objects of
 * strings, numbers, booleans, enums and arrays of those. Anything this module cannot map
 * (oneOf/anyOf/allOf, $ref, arrays of objects, free-form records) falls back to the JSON editor,
 * and the server validates the arguments anyway.
 */

export type Primitive = "string" | "number" | "integer" | "boolean";

export type Field = {
  /** The property's name. */
  key: string;
  /** Keys from the top: ["address", "city"]. */
  path: string[];
  label: string;
  description?: string;
  required: boolean;
  kind: "string" | "text" | "number" | "integer" | "boolean" | "enum" | "array" | "object";
  /** enum: the allowed values. */
  options?: (string | number | boolean)[];
  /** array: its items' type (enums of items are checked against itemOptions). */
  itemKind?: Primitive;
  itemOptions?: (string | number | boolean)[];
  /** object: its properties. */
  fields?: Field[];
  default?: unknown;
  minimum?: number;
  maximum?: number;
  minLength?: number;
  maxLength?: number;
  pattern?: string;
  minItems?: number;
  maxItems?: number;
  format?: string;
};

/** What the form holds: a string per text-like input, a boolean per checkbox, a record per fieldset. */
export type FormValue = string | boolean | FormValues;
export type FormValues = { [key: string]: FormValue };

export type FieldError = { path: string[]; message: string };

export type Mapping = { ok: true; fields: Field[] } | { ok: false; reason: string };

type Schema = Record<string, unknown>;

const MAX_DEPTH = 6;
/** Strings longer than this (maxLength) or of these formats get a textarea. */
const LONG_TEXT = 200;
const TEXTAREA_FORMATS = new Set(["textarea", "multiline", "markdown", "json"]);

const isObject = (v: unknown): v is Schema => typeof v === "object" && v !== null && !Array.isArray(v);

/** The schema's single type, ignoring "null" (["string", "null"] → "string"); undefined if none or several. */
function typeOf(schema: Schema): string | undefined {
  const t = schema.type;
  if (typeof t === "string") return t;
  if (Array.isArray(t)) {
    const real = t.filter((x) => x !== "null");
    return real.length === 1 && typeof real[0] === "string" ? real[0] : undefined;
  }
  if (Array.isArray(schema.enum)) return "enum";
  if (isObject(schema.properties)) return "object";
  return undefined;
}

function unsupportedKeyword(schema: Schema) {
  return ["oneOf", "anyOf", "allOf", "$ref", "not", "if", "patternProperties"].find((k) => k in schema);
}

const num = (v: unknown) => (typeof v === "number" && Number.isFinite(v) ? v : undefined);

/** Maps an object schema's properties to fields, or says why it cannot. */
export function schemaToFields(schema: unknown): Mapping {
  if (schema === undefined || schema === null) return { ok: true, fields: [] };
  if (!isObject(schema)) return { ok: false, reason: "The input schema is not an object." };
  return objectFields(schema, [], 0);
}

function objectFields(schema: Schema, path: string[], depth: number): Mapping {
  const where = path.length ? `“${path.join(".")}”` : "The input schema";
  if (depth > MAX_DEPTH) return { ok: false, reason: `${where} is nested too deeply for the form.` };
  const bad = unsupportedKeyword(schema);
  if (bad) return { ok: false, reason: `${where} uses ${bad}, which the form cannot show.` };
  const type = typeOf(schema);
  if (type !== undefined && type !== "object") return { ok: false, reason: `${where} is not an object.` };
  const properties = isObject(schema.properties) ? schema.properties : {};
  if (!Object.keys(properties).length && isObject(schema.additionalProperties))
    return { ok: false, reason: `${where} takes free-form keys, which the form cannot show.` };
  const required = new Set(Array.isArray(schema.required) ? schema.required.filter((r) => typeof r === "string") : []);
  const fields: Field[] = [];
  for (const [key, prop] of Object.entries(properties)) {
    const field = toField(key, isObject(prop) ? prop : {}, [...path, key], required.has(key), depth + 1);
    if (!field.ok) return field;
    fields.push(field.field);
  }
  return { ok: true, fields };
}

function toField(
  key: string,
  schema: Schema,
  path: string[],
  required: boolean,
  depth: number,
): { ok: true; field: Field } | { ok: false; reason: string } {
  const where = `“${path.join(".")}”`;
  const bad = unsupportedKeyword(schema);
  if (bad) return { ok: false, reason: `${where} uses ${bad}, which the form cannot show.` };
  const base: Field = {
    key,
    path,
    label: typeof schema.title === "string" && schema.title ? schema.title : key,
    description: typeof schema.description === "string" ? schema.description : undefined,
    required,
    kind: "string",
    default: schema.default,
  };
  if (Array.isArray(schema.enum) && schema.enum.length) {
    const options = schema.enum.filter((o) => ["string", "number", "boolean"].includes(typeof o));
    if (options.length !== schema.enum.filter((o) => o !== null).length)
      return { ok: false, reason: `${where} has enum values the form cannot show.` };
    return { ok: true, field: { ...base, kind: "enum", options: options as Field["options"] } };
  }
  if ("const" in schema) return { ok: false, reason: `${where} is a constant, which the form cannot show.` };
  const type = typeOf(schema);
  switch (type) {
    case "string":
    case undefined: {
      if (type === undefined && Object.keys(schema).some((k) => !["title", "description", "default"].includes(k)))
        return { ok: false, reason: `${where} has no single type.` };
      const format = typeof schema.format === "string" ? schema.format : undefined;
      const maxLength = num(schema.maxLength);
      const long = (format && TEXTAREA_FORMATS.has(format)) || (maxLength ?? 0) > LONG_TEXT;
      return {
        ok: true,
        field: {
          ...base,
          kind: long ? "text" : "string",
          format,
          minLength: num(schema.minLength),
          maxLength,
          pattern: typeof schema.pattern === "string" ? schema.pattern : undefined,
        },
      };
    }
    case "number":
    case "integer":
      return {
        ok: true,
        field: {
          ...base,
          kind: type,
          minimum: num(schema.minimum) ?? num(schema.exclusiveMinimum),
          maximum: num(schema.maximum) ?? num(schema.exclusiveMaximum),
        },
      };
    case "boolean":
      return { ok: true, field: { ...base, kind: "boolean" } };
    case "array": {
      const items = isObject(schema.items) ? schema.items : {};
      if (unsupportedKeyword(items) || Array.isArray(schema.items))
        return { ok: false, reason: `${where} has items the form cannot show.` };
      const itemOptions = Array.isArray(items.enum) ? (items.enum as Field["options"]) : undefined;
      const itemType = itemOptions ? (typeof itemOptions?.[0] as string) : (typeOf(items) ?? "string");
      if (!["string", "number", "integer", "boolean"].includes(itemType))
        return { ok: false, reason: `${where} is a list of ${itemType}s, which the form cannot show.` };
      return {
        ok: true,
        field: {
          ...base,
          kind: "array",
          itemKind: itemType as Primitive,
          itemOptions,
          minItems: num(schema.minItems),
          maxItems: num(schema.maxItems),
        },
      };
    }
    case "object": {
      const inner = objectFields(schema, path, depth);
      if (!inner.ok) return inner;
      return { ok: true, field: { ...base, kind: "object", fields: inner.fields } };
    }
    default:
      return { ok: false, reason: `${where} is of type ${type}, which the form cannot show.` };
  }
}

/** Prompt arguments (MCP: `{name, description?, required?}`, string values) as string fields. */
export function promptArgumentsToFields(args: unknown): Field[] {
  if (!Array.isArray(args)) return [];
  return args
    .filter((a): a is Schema => isObject(a) && typeof a.name === "string")
    .map((a) => ({
      key: a.name as string,
      path: [a.name as string],
      label: typeof a.title === "string" && a.title ? a.title : (a.name as string),
      description: typeof a.description === "string" ? a.description : undefined,
      required: a.required === true,
      kind: "string" as const,
    }));
}

/** How an array's items are typed into one input: one per line if any line break, else comma-separated. */
export function splitList(text: string): string[] {
  const parts = text.includes("\n") ? text.split("\n") : text.split(",");
  return parts.map((p) => p.trim()).filter((p) => p !== "");
}

function primitiveToText(v: unknown): string {
  if (v === undefined || v === null) return "";
  return typeof v === "object" ? JSON.stringify(v) : String(v);
}

/** The form's values from arguments (the fields' defaults when `args` is undefined). */
export function toFormValues(fields: Field[], args?: Record<string, unknown>): FormValues {
  const values: FormValues = {};
  for (const f of fields) {
    const v = args ? args[f.key] : f.default;
    if (f.kind === "object") {
      const inner = isObject(v) ? v : undefined;
      values[f.key] = toFormValues(f.fields ?? [], args ? (inner ?? {}) : inner);
    } else if (f.kind === "boolean") {
      values[f.key] = v === true;
    } else if (f.kind === "array") {
      const items = Array.isArray(v) ? v.map(primitiveToText) : [];
      values[f.key] = items.join(items.some((i) => i.includes(",")) ? "\n" : ", ");
    } else {
      values[f.key] = primitiveToText(v);
    }
  }
  return values;
}

function coercePrimitive(kind: Primitive, text: string): { value: unknown } | { error: string } {
  if (kind === "string") return { value: text };
  if (kind === "boolean") {
    if (/^(true|yes|1)$/i.test(text)) return { value: true };
    if (/^(false|no|0)$/i.test(text)) return { value: false };
    return { error: "Enter true or false." };
  }
  const n = Number(text);
  if (text.trim() === "" || !Number.isFinite(n)) return { error: "Enter a number." };
  if (kind === "integer" && !Number.isInteger(n)) return { error: "Enter a whole number." };
  return { value: n };
}

const has = (values: FormValues | undefined, key: string) => values !== undefined && key in values;

/**
 * The tool's arguments from the form's values, and an error per invalid field (in the fields'
 * order, so the first is the one to focus). Empty optional inputs are left out; an optional
 * fieldset with nothing filled in is left out whole, its required fields included; an unchecked
 * optional checkbox without a default is left out (checking it sends true).
 */
export function coerceArguments(
  fields: Field[],
  values: FormValues,
): { args: Record<string, unknown>; errors: FieldError[] } {
  const args: Record<string, unknown> = {};
  const errors: FieldError[] = [];
  for (const f of fields) {
    const raw = has(values, f.key) ? values[f.key] : undefined;
    const fail = (message: string) => errors.push({ path: f.path, message });
    if (f.kind === "object") {
      const inner = typeof raw === "object" ? raw : {};
      if (!f.required && isBlank(inner)) continue;
      const sub = coerceArguments(f.fields ?? [], inner);
      args[f.key] = sub.args;
      errors.push(...sub.errors);
      continue;
    }
    if (f.kind === "boolean") {
      const checked = raw === true;
      if (checked || f.required || f.default !== undefined) args[f.key] = checked;
      continue;
    }
    const text = typeof raw === "string" ? raw : "";
    if (f.kind === "array") {
      const items = splitList(text);
      if (!items.length && !f.required) continue;
      const out: unknown[] = [];
      let bad = false;
      items.forEach((item, i) => {
        const r = coercePrimitive(f.itemKind ?? "string", item);
        if ("error" in r) {
          if (!bad) fail(`Item ${i + 1} (“${item}”): ${r.error}`);
          bad = true;
        } else if (f.itemOptions && !f.itemOptions.includes(r.value as string)) {
          if (!bad) fail(`Item ${i + 1} (“${item}”) must be one of: ${f.itemOptions.join(", ")}.`);
          bad = true;
        } else out.push(r.value);
      });
      if (bad) continue;
      if (f.minItems !== undefined && out.length < f.minItems) fail(`Enter at least ${f.minItems} items.`);
      else if (f.maxItems !== undefined && out.length > f.maxItems) fail(`Enter at most ${f.maxItems} items.`);
      else args[f.key] = out;
      continue;
    }
    // Strings keep their spaces; an input of spaces only counts as empty.
    if (text.trim() === "") {
      if (f.required) fail("Required.");
      continue;
    }
    if (f.kind === "enum") {
      const option = f.options?.find((o) => String(o) === text);
      if (option === undefined) fail(`Choose one of: ${f.options?.join(", ")}.`);
      else args[f.key] = option;
      continue;
    }
    if (f.kind === "number" || f.kind === "integer") {
      const r = coercePrimitive(f.kind, text.trim());
      if ("error" in r) fail(r.error);
      else if (f.minimum !== undefined && (r.value as number) < f.minimum) fail(`Enter ${f.minimum} or more.`);
      else if (f.maximum !== undefined && (r.value as number) > f.maximum) fail(`Enter ${f.maximum} or less.`);
      else args[f.key] = r.value;
      continue;
    }
    if (f.minLength !== undefined && text.length < f.minLength) fail(`Enter at least ${f.minLength} characters.`);
    else if (f.maxLength !== undefined && text.length > f.maxLength) fail(`Enter at most ${f.maxLength} characters.`);
    else if (f.pattern !== undefined && !matches(f.pattern, text)) fail(`Does not match the pattern ${f.pattern}.`);
    else args[f.key] = text;
  }
  return { args, errors };
}

function matches(pattern: string, text: string) {
  try {
    return new RegExp(pattern, "u").test(text);
  } catch {
    return true; // a pattern JavaScript cannot compile: the server decides
  }
}

function isBlank(values: FormValues): boolean {
  return Object.values(values).every((v) =>
    typeof v === "object" ? isBlank(v) : typeof v === "string" ? v.trim() === "" : v === false,
  );
}

/** A field's DOM id under a form's prefix (keys may hold any character: encoded). */
export function fieldId(prefix: string, path: string[]) {
  return `${prefix}-${path.map((p) => encodeURIComponent(p).replace(/[^A-Za-z0-9_-]/g, "_")).join("--")}`;
}

/** Parses the JSON editor's text: an object, or a message. */
export function parseArgumentsJson(text: string): { args: Record<string, unknown> } | { error: string } {
  let parsed: unknown;
  try {
    parsed = text.trim() === "" ? {} : JSON.parse(text);
  } catch {
    return { error: "The arguments are not valid JSON." };
  }
  if (!isObject(parsed)) return { error: "The arguments must be a JSON object." };
  return { args: parsed };
}
