import { describe, expect, it } from "vitest";
import { ServerDefinitionInput, serverFieldsOf } from "./server-definition";

const base = { slug: "checked", title: "Checked", start_command: "node server.js" };
const issues = (input: unknown) =>
  (ServerDefinitionInput.safeParse(input).error?.issues ?? []).map((i) => i.path.join("."));

describe("a definition's credential check", () => {
  it("is optional, with arguments defaulting to none", () => {
    expect(ServerDefinitionInput.parse(base).check).toBeUndefined();
    expect(ServerDefinitionInput.parse({ ...base, check: { tool: "whoami" } }).check).toEqual({
      tool: "whoami",
      arguments: {},
    });
    const full = { tool: "slack_get_users", arguments: { limit: 1 }, error_text: '"error":' };
    expect(ServerDefinitionInput.parse({ ...base, check: full }).check).toEqual(full);
  });

  it("needs an object with a tool name, and arguments that are an object", () => {
    expect(issues({ ...base, check: "whoami" })).toEqual(["check"]);
    expect(issues({ ...base, check: {} })).toEqual(["check.tool"]);
    expect(issues({ ...base, check: { tool: "" } })).toEqual(["check.tool"]);
    expect(issues({ ...base, check: { tool: 7 } })).toEqual(["check.tool"]);
    expect(issues({ ...base, check: { tool: "whoami", arguments: [] } })).toEqual(["check.arguments"]);
    expect(issues({ ...base, check: { tool: "whoami", arguments: "x" } })).toEqual(["check.arguments"]);
    expect(issues({ ...base, check: { tool: "whoami", args: {} } })).toEqual(["check"]);
  });

  it("is stored as credential_check (null when absent)", () => {
    expect(serverFieldsOf(ServerDefinitionInput.parse(base)).credential_check).toBeNull();
    const fields = serverFieldsOf(ServerDefinitionInput.parse({ ...base, check: { tool: "whoami" } }));
    expect(fields.credential_check).toEqual({ tool: "whoami", arguments: {} });
    expect(fields).not.toHaveProperty("check");
  });
});
