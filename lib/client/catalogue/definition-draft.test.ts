import { describe, expect, it } from "vitest";
import { CATALOGUE } from "@/lib/catalogue/catalogue";
import { ServerDefinitionInput, toServerDefinitionJson } from "@/lib/core/schemas/server-definition";
import type { ServerRow } from "@/lib/db/queries/servers";
import { draftOf, inputOf } from "./definition-draft";

const rowOf = (fields: (typeof CATALOGUE)[number]): ServerRow => ({
  ...fields,
  id: crypto.randomUUID(),
  removed_at: null,
  created_at: new Date(),
  updated_at: new Date(),
});

describe("the definition editor's draft", () => {
  it.each(CATALOGUE.map((d) => [d.slug, d] as const))("round-trips %s unchanged", (_slug, fields) => {
    const definition = toServerDefinitionJson(rowOf(fields));
    const { input, errors } = inputOf(draftOf(definition));
    expect(errors).toEqual({});
    const { id: _id, oauth, ...rest } = definition;
    // The answer says whether this Berth has a client at the provider; the declaration does not.
    const expected = oauth ? { ...rest, oauth: { ...oauth, configured: undefined } } : rest;
    expect(ServerDefinitionInput.parse(input)).toEqual(
      ServerDefinitionInput.parse(JSON.parse(JSON.stringify(expected))),
    );
  });

  it("starts a new definition empty but valid once named and given a command", () => {
    const draft = { ...draftOf(), title: "X", slug: "x", start_command: "npx -y x@1" };
    const { input } = inputOf(draft);
    expect(ServerDefinitionInput.parse(input)).toMatchObject({
      slug: "x",
      default_timeout: 3600,
      credential_schema: { type: "object", properties: {} },
      env: {},
      tools: [],
    });
  });

  it("names the fields it cannot read, and sends nothing then", () => {
    const draft = { ...draftOf(), credential_schema: "{", check: "[1,", env: "A=1\nnot a pair" };
    const { input, errors } = inputOf(draft);
    expect(input).toBeUndefined();
    expect(Object.keys(errors).sort()).toEqual(["check", "credential_schema", "env"]);
    expect(errors.env).toBe("“not a pair” is not NAME=value.");
    expect(errors.credential_schema).toMatch(/^Not valid JSON: /);
  });

  it("keeps = in values and sends a streamable-http server's port and path", () => {
    const draft = {
      ...draftOf(),
      env: "OPTS=a=b\n\n",
      transport: "streamable-http" as const,
      port: "8080",
      path: "/rpc",
    };
    expect(inputOf(draft).input).toMatchObject({ env: { OPTS: "a=b" }, port: 8080, path: "/rpc" });
    expect(inputOf({ ...draft, transport: "stdio" }).input).not.toHaveProperty("port");
  });
});
