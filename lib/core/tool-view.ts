import type { Tool } from "@modelcontextprotocol/sdk/types.js";
import type { ToolPolicy, ToolVerdict } from "@/lib/core/schemas/tool-policy";

/** What a connection's clients see of its server's tools under a policy. */
export type ToolView = {
  /** The tools clients are offered, renamed and redescribed, in the server's order. */
  tools: Tool[];
  /** Exposed name → the server's name, for the offered tools only. */
  serverName: Map<string, string>;
  /** Server names of the offered tools whose calls wait for an admin's approval. */
  approval: Set<string>;
  verdicts: ToolVerdict[];
};

/**
 * Applies a policy to the server's tools. A tool is offered when `allow` (if set) names it, `deny`
 * does not, and under `read_only` its annotations say `readOnlyHint: true`. A new name that is
 * another offered tool's own name is not given: that tool stays hidden rather than shadow the other.
 */
export function viewTools(serverTools: Tool[], policy: ToolPolicy): ToolView {
  const allow = policy.allow && new Set(policy.allow);
  const deny = new Set(policy.deny);
  const hiddenBy = (t: Tool): ToolVerdict["hidden_by"] => {
    if (allow && !allow.has(t.name)) return "allow";
    if (deny.has(t.name)) return "deny";
    if (policy.read_only && t.annotations?.readOnlyHint !== true) return "read_only";
    return null;
  };
  const verdicts = serverTools.map((t) => {
    const override = Object.hasOwn(policy.tools, t.name) ? policy.tools[t.name] : undefined;
    return {
      tool: t,
      verdict: {
        name: t.name,
        exposed_name: override?.name ?? t.name,
        description: override?.description ?? t.description ?? "",
        read_only: t.annotations?.readOnlyHint === true,
        visible: false,
        approval: override?.approval === true,
        hidden_by: hiddenBy(t),
      } as ToolVerdict,
    };
  });
  // Names offered as they are come first, so a rename cannot take a name a visible tool keeps.
  const serverName = new Map<string, string>();
  for (const { verdict } of verdicts)
    if (!verdict.hidden_by && verdict.exposed_name === verdict.name) serverName.set(verdict.name, verdict.name);
  for (const { verdict } of verdicts) {
    if (verdict.hidden_by || verdict.exposed_name === verdict.name) continue;
    if (serverName.has(verdict.exposed_name)) verdict.hidden_by = "name_taken";
    else serverName.set(verdict.exposed_name, verdict.name);
  }
  const tools: Tool[] = [];
  const approval = new Set<string>();
  for (const { tool, verdict } of verdicts) {
    verdict.visible = verdict.hidden_by === null;
    if (!verdict.visible) continue;
    if (verdict.approval) approval.add(tool.name);
    const changed = verdict.exposed_name !== tool.name || verdict.description !== (tool.description ?? "");
    tools.push(changed ? { ...tool, name: verdict.exposed_name, description: verdict.description } : tool);
  }
  return { tools, serverName, approval, verdicts: verdicts.map((v) => v.verdict) };
}

/** A policy as text with its keys in order, to compare two (jsonb gives keys back in its own order). */
export function policyKey(policy: ToolPolicy | null | undefined): string {
  return JSON.stringify(policy ?? null, (_, v) =>
    v && typeof v === "object" && !Array.isArray(v) ? Object.fromEntries(Object.entries(v).sort()) : v,
  );
}
