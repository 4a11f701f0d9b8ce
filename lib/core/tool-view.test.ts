import type { Tool } from "@modelcontextprotocol/sdk/types.js";
import { describe, expect, it } from "vitest";
import { OPEN_POLICY, ToolPolicy } from "./schemas/tool-policy";
import { policyKey, viewTools } from "./tool-view";

const tool = (name: string, readOnly?: boolean): Tool => ({
  name,
  description: `${name} does things`,
  inputSchema: { type: "object" },
  ...(readOnly === undefined ? {} : { annotations: { readOnlyHint: readOnly } }),
});
const SERVER = [tool("read", true), tool("write", false), tool("vague"), tool("search", true)];
const policy = (p: object) => ToolPolicy.parse(p);

describe("viewTools", () => {
  it("offers every tool untouched (the same objects) under the open policy", () => {
    const view = viewTools(SERVER, OPEN_POLICY);
    expect(view.tools).toEqual(SERVER);
    for (const [i, t] of view.tools.entries()) expect(t).toBe(SERVER[i]);
    expect([...view.serverName]).toEqual(SERVER.map((t) => [t.name, t.name]));
  });

  it("hides by allow, then deny, then read_only, and says which", () => {
    const view = viewTools(SERVER, policy({ allow: ["read", "write", "vague"], deny: ["write"], read_only: true }));
    expect(view.tools.map((t) => t.name)).toEqual(["read"]);
    expect(Object.fromEntries(view.verdicts.map((v) => [v.name, v.hidden_by]))).toEqual({
      read: null,
      write: "deny",
      vague: "read_only", // no annotation: not known to be read-only
      search: "allow",
    });
    expect(view.serverName.has("write")).toBe(false);
  });

  it("renames and redescribes, mapping the new name back; the old name is no longer callable", () => {
    const view = viewTools(
      SERVER,
      policy({ tools: { search: { name: "web_search", description: "Searches the web.", approval: true } } }),
    );
    const renamed = view.tools.find((t) => t.name === "web_search");
    expect(renamed).toMatchObject({ description: "Searches the web.", annotations: { readOnlyHint: true } });
    expect(view.serverName.get("web_search")).toBe("search");
    expect(view.serverName.has("search")).toBe(false);
    expect([...view.approval]).toEqual(["search"]);
  });

  it("does not let a new name shadow a tool that keeps its own: the renamed one is hidden", () => {
    const view = viewTools(SERVER, policy({ tools: { write: { name: "read" } } }));
    expect(view.serverName.get("read")).toBe("read");
    expect(view.verdicts.find((v) => v.name === "write")).toMatchObject({ visible: false, hidden_by: "name_taken" });
    // Unless that tool is hidden itself: then the name is free.
    const freed = viewTools(SERVER, policy({ deny: ["read"], tools: { write: { name: "read" } } }));
    expect(freed.serverName.get("read")).toBe("write");
  });

  it("refuses two tools given one name, and names that are not MCP tool names", () => {
    expect(ToolPolicy.safeParse({ tools: { read: { name: "x" }, write: { name: "x" } } }).success).toBe(false);
    expect(ToolPolicy.safeParse({ tools: { read: { name: "two words" } } }).success).toBe(false);
    expect(ToolPolicy.safeParse({ tools: { read: { name: "a".repeat(129) } } }).success).toBe(false);
    expect(ToolPolicy.safeParse({ approval_timeout_seconds: 4 }).success).toBe(false);
  });
});

describe("policyKey", () => {
  it("is the same whatever order the keys come in (jsonb gives back its own)", () => {
    const a = policy({ deny: ["x"], tools: { b: { name: "c", description: "d" } } });
    const b = JSON.parse(JSON.stringify({ ...a, tools: { b: { description: "d", name: "c" } } }));
    expect(policyKey(b)).toBe(policyKey(a));
    expect(policyKey(a)).not.toBe(policyKey(OPEN_POLICY));
    expect(policyKey(undefined)).toBe(policyKey(null));
  });
});
