import { describe, expect, it } from "vitest";
import {
  coerceArguments,
  type Field,
  fieldId,
  parseArgumentsJson,
  promptArgumentsToFields,
  schemaToFields,
  splitList,
  toFormValues,
} from "./schema-form";

const fieldsOf = (schema: unknown): Field[] => {
  const m = schemaToFields(schema);
  if (!m.ok) throw new Error(m.reason);
  return m.fields;
};

describe("schemaToFields", () => {
  it("maps primitives, enums, arrays and nested objects, with labels, help, required and defaults", () => {
    const fields = fieldsOf({
      type: "object",
      required: ["message", "count"],
      properties: {
        message: { type: "string", description: "What to echo" },
        notes: { type: "string", format: "textarea" },
        long: { type: "string", maxLength: 5000 },
        count: { type: "integer", title: "How many", minimum: 1, default: 3 },
        ratio: { type: ["number", "null"] },
        loud: { type: "boolean", default: true },
        level: { type: "string", enum: ["debug", "info"] },
        tags: { type: "array", items: { type: "string" } },
        sizes: { type: "array", items: { type: "number" }, minItems: 1 },
        address: {
          type: "object",
          required: ["city"],
          properties: { city: { type: "string" }, zip: { type: "string", pattern: "^[0-9]+$" } },
        },
      },
    });
    expect(fields.map((f) => [f.key, f.kind])).toEqual([
      ["message", "string"],
      ["notes", "text"],
      ["long", "text"],
      ["count", "integer"],
      ["ratio", "number"],
      ["loud", "boolean"],
      ["level", "enum"],
      ["tags", "array"],
      ["sizes", "array"],
      ["address", "object"],
    ]);
    const [message, , , count] = fields;
    expect(message).toMatchObject({ label: "message", description: "What to echo", required: true });
    expect(count).toMatchObject({ label: "How many", required: true, minimum: 1, default: 3 });
    expect(fields[6]?.options).toEqual(["debug", "info"]);
    expect(fields[8]).toMatchObject({ itemKind: "number", minItems: 1 });
    const address = fields[9]?.fields ?? [];
    expect(address.map((f) => [f.path, f.required])).toEqual([
      [["address", "city"], true],
      [["address", "zip"], false],
    ]);
  });

  it("takes a schema without properties (a tool without arguments) as no fields", () => {
    expect(schemaToFields({ type: "object" })).toEqual({ ok: true, fields: [] });
    expect(schemaToFields(undefined)).toEqual({ ok: true, fields: [] });
  });

  it("refuses what it cannot map, so the inspector falls back to JSON", () => {
    const cases: unknown[] = [
      { type: "object", properties: { x: { oneOf: [{ type: "string" }, { type: "number" }] } } },
      { type: "object", properties: { x: { anyOf: [{ type: "string" }] } } },
      { type: "object", properties: { x: { $ref: "#/defs/y" } } },
      { type: "object", properties: { x: { type: "array", items: { type: "object", properties: {} } } } },
      { type: "object", properties: { x: { type: ["string", "number"] } } },
      { type: "object", additionalProperties: { type: "string" } },
      { type: "string" },
      "nope",
    ];
    for (const schema of cases) {
      const m = schemaToFields(schema);
      expect(m.ok, JSON.stringify(schema)).toBe(false);
      if (!m.ok) expect(m.reason).toMatch(/\w/);
    }
  });
});

describe("toFormValues", () => {
  const fields = fieldsOf({
    type: "object",
    properties: {
      s: { type: "string", default: "hi" },
      n: { type: "number", default: 2.5 },
      b: { type: "boolean", default: true },
      e: { enum: [1, 2], default: 2 },
      a: { type: "array", items: { type: "string" }, default: ["x", "y"] },
      o: { type: "object", properties: { inner: { type: "string", default: "in" } } },
    },
  });

  it("prefills the defaults", () => {
    expect(toFormValues(fields)).toEqual({ s: "hi", n: "2.5", b: true, e: "2", a: "x, y", o: { inner: "in" } });
  });

  it("fills in given arguments (JSON editor → form), lists with commas one per line", () => {
    expect(toFormValues(fields, { s: "a", a: ["1,2", "3"], o: {} })).toEqual({
      s: "a",
      n: "",
      b: false,
      e: "",
      a: "1,2\n3",
      o: { inner: "" },
    });
  });
});

describe("coerceArguments", () => {
  const fields = fieldsOf({
    type: "object",
    required: ["a", "b"],
    properties: {
      a: { type: "number" },
      b: { type: "integer", maximum: 10 },
      flag: { type: "boolean" },
      on: { type: "boolean", default: false },
      level: { enum: ["low", 2, true] },
      names: { type: "array", items: { type: "string" } },
      ints: { type: "array", items: { type: "integer" } },
      bools: { type: "array", items: { type: "boolean" } },
      note: { type: "string", minLength: 2 },
      nested: {
        type: "object",
        required: ["city"],
        properties: { city: { type: "string" }, zip: { type: "string", pattern: "^[0-9]+$" } },
      },
    },
  });
  const values = (over: Record<string, unknown>) => ({ ...toFormValues(fields), ...over }) as never;

  it("turns strings into numbers, lists and booleans, and leaves out empty optional inputs", () => {
    const { args, errors } = coerceArguments(
      fields,
      values({
        a: " 1.5 ",
        b: "7",
        flag: true,
        level: "2",
        names: "x, y , ,z",
        ints: "1\n2\n\n3",
        bools: "true, no, 1",
      }),
    );
    expect(errors).toEqual([]);
    expect(args).toEqual({
      a: 1.5,
      b: 7,
      flag: true,
      on: false,
      level: 2,
      names: ["x", "y", "z"],
      ints: [1, 2, 3],
      bools: [true, false, true],
    });
  });

  it("keeps enum values' types", () => {
    expect(coerceArguments(fields, values({ a: "1", b: "1", level: "true" })).args.level).toBe(true);
    expect(coerceArguments(fields, values({ a: "1", b: "1", level: "low" })).args.level).toBe("low");
  });

  it("reports required fields left empty and malformed values, in the fields' order", () => {
    const { errors } = coerceArguments(
      fields,
      values({ a: "  ", b: "2.5", ints: "1, x", note: "a", nested: { city: "", zip: "12a" } }),
    );
    expect(errors).toEqual([
      { path: ["a"], message: "Required." },
      { path: ["b"], message: "Enter a whole number." },
      { path: ["ints"], message: "Item 2 (“x”): Enter a number." },
      { path: ["note"], message: "Enter at least 2 characters." },
      { path: ["nested", "city"], message: "Required." },
      { path: ["nested", "zip"], message: "Does not match the pattern ^[0-9]+$." },
    ]);
  });

  it("checks numbers' bounds and rejects text in number fields", () => {
    expect(coerceArguments(fields, values({ a: "abc", b: "11" })).errors).toEqual([
      { path: ["a"], message: "Enter a number." },
      { path: ["b"], message: "Enter 10 or less." },
    ]);
  });

  it("leaves out an optional fieldset left blank, required fields inside it included", () => {
    const { args, errors } = coerceArguments(fields, values({ a: "1", b: "2" }));
    expect(errors).toEqual([]);
    expect(args).not.toHaveProperty("nested");
    expect(coerceArguments(fields, values({ a: "1", b: "2", nested: { city: "Oslo", zip: "" } })).args.nested).toEqual({
      city: "Oslo",
    });
  });

  it("sends a required list left empty as [] unless it needs items", () => {
    const list = fieldsOf({
      type: "object",
      required: ["xs", "ys"],
      properties: { xs: { type: "array" }, ys: { type: "array", items: { type: "number" }, minItems: 1 } },
    });
    expect(coerceArguments(list, { xs: "", ys: "" })).toEqual({
      args: { xs: [] },
      errors: [{ path: ["ys"], message: "Enter at least 1 items." }],
    });
  });
});

describe("helpers", () => {
  it("splits lists on lines when there are any, else on commas", () => {
    expect(splitList("a, b,c")).toEqual(["a", "b", "c"]);
    expect(splitList("a, b\nc")).toEqual(["a, b", "c"]);
    expect(splitList("  ")).toEqual([]);
  });

  it("maps prompt arguments to string fields", () => {
    const fields = promptArgumentsToFields([
      { name: "city", description: "Name of the city", required: true },
      { name: "state" },
      { nope: 1 },
    ]);
    expect(fields.map((f) => [f.key, f.kind, f.required, f.description])).toEqual([
      ["city", "string", true, "Name of the city"],
      ["state", "string", false, undefined],
    ]);
    expect(coerceArguments(fields, { city: "", state: "" }).errors).toEqual([{ path: ["city"], message: "Required." }]);
  });

  it("parses the JSON editor's text", () => {
    expect(parseArgumentsJson('{"a": 1}')).toEqual({ args: { a: 1 } });
    expect(parseArgumentsJson("")).toEqual({ args: {} });
    expect(parseArgumentsJson("{not json")).toEqual({ error: "The arguments are not valid JSON." });
    expect(parseArgumentsJson("[1]")).toEqual({ error: "The arguments must be a JSON object." });
  });

  it("makes safe, distinct DOM ids", () => {
    expect(fieldId("f", ["a b", "c"])).toMatch(/^[A-Za-z0-9_-]+$/);
    expect(fieldId("f", ["a", "b"])).not.toBe(fieldId("f", ["ab"]));
  });
});
