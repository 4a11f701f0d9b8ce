import type { Ctx } from "@/lib/core/context";
import { BerthError } from "@/lib/core/errors";
import type { CallToolInput, GetPromptInput, ReadResourceInput } from "@/lib/core/schemas/inspector";
import { resumeConnection } from "./resume";

const LIST = { tools: "tools/list", resources: "resources/list", prompts: "prompts/list" } as const;
const METHOD_NOT_FOUND = -32601;

/** The inspector's view of a running connection: its tools, resources or prompts. */
export async function listFromServer(ctx: Ctx, id: string, kind: keyof typeof LIST) {
  await resumeConnection(ctx, id);
  try {
    const result = (await ctx.runtime.mcpRequest(id, LIST[kind], {})) as Record<string, unknown[]>;
    return result[kind] ?? [];
  } catch (err) {
    if ((err as { code?: number }).code === METHOD_NOT_FOUND) return []; // the server has none of these
    throw serverError(err);
  }
}

/** Calls a tool for the inspector; audited like any tool call, never stored. */
export async function callToolOnServer(ctx: Ctx, id: string, input: CallToolInput) {
  await resumeConnection(ctx, id);
  try {
    // An owner or admin in the dashboard is who would approve the call; an API key (an agent's) asks.
    const approved = ctx.actor.kind === "user" && ctx.role !== "member" && ctx.role !== undefined;
    const params = { name: input.name, arguments: input.arguments };
    return await ctx.runtime.mcpRequest(id, "tools/call", params, { approved });
  } catch (err) {
    throw serverError(err);
  }
}

/**
 * Reads one resource for the inspector (resources/read). Not audited: the audit log records tool
 * calls only (see UpstreamSession), and there is no event type for reads.
 */
export async function readResourceOnServer(ctx: Ctx, id: string, input: ReadResourceInput) {
  await resumeConnection(ctx, id);
  try {
    return await ctx.runtime.mcpRequest(id, "resources/read", { uri: input.uri });
  } catch (err) {
    throw serverError(err);
  }
}

/** Gets one prompt with its arguments for the inspector (prompts/get); not audited, as reads are not. */
export async function getPromptOnServer(ctx: Ctx, id: string, input: GetPromptInput) {
  await resumeConnection(ctx, id);
  try {
    return await ctx.runtime.mcpRequest(id, "prompts/get", {
      name: input.name,
      ...(input.arguments ? { arguments: input.arguments } : {}),
    });
  } catch (err) {
    throw serverError(err);
  }
}

function serverError(err: unknown) {
  const code = (err as { code?: number }).code;
  const message = err instanceof Error ? err.message : String(err);
  return code === undefined
    ? new BerthError("sandbox_provider_failed", `The MCP server did not answer: ${message}`)
    : new BerthError("sandbox_provider_failed", `The MCP server answered with an error: ${message}`, {
        jsonrpc_code: code,
      });
}
