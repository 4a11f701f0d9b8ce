import type { Ctx } from "@/lib/core/context";
import { BerthError } from "@/lib/core/errors";
import { httpEndpointOf, isCapacityError, isCheckFailedError, isDeployError } from "@/lib/core/runtime";
import type { InstallInput } from "@/lib/core/schemas/connection";
import { assertOwnAccount, getServerOrThrow, requireAdmin } from "../scope";
import { takeSandboxStart } from "./capacity";
import { validateCredentials } from "./credentials";

/**
 * Starts the server with these credentials, lists its tools, makes the definition's check call if
 * it declares one (so that bad credentials fail here, not at the first real tool call), and tears
 * it down; stores nothing.
 */
export async function dryRunConnection(ctx: Ctx, input: InstallInput) {
  requireAdmin(ctx);
  assertOwnAccount(ctx, input.account_id);
  if (input.auth === "oauth") {
    throw new BerthError(
      "bad_request",
      "A dry run tests pasted credentials; one connecting through OAuth is tested by connecting.",
    );
  }
  const server = await getServerOrThrow(ctx, input.server_id);
  const env = validateCredentials(server, input.credentials);
  const check = server.credential_check;
  takeSandboxStart(ctx);
  try {
    const tools = await ctx.runtime.dryRun({
      accountId: ctx.accountId,
      startCommand: server.start_command,
      env: { ...server.env, ...env },
      network: server.network,
      http: httpEndpointOf(server),
      timeoutSeconds: 60,
      check: check ? { tool: check.tool, arguments: check.arguments, errorText: check.error_text } : undefined,
    });
    return check
      ? { ok: true as const, tools, checked: true, check: { tool: check.tool, ok: true as const } }
      : { ok: true as const, tools, checked: false };
  } catch (err) {
    if (isDeployError(err)) {
      throw new BerthError("dry_run_failed", `The server did not start: ${err.message}`, { stderr: err.stderrTail });
    }
    if (isCheckFailedError(err)) {
      throw new BerthError("dry_run_failed", `The credentials check (${err.tool}) failed: ${err.message}`, {
        check: { tool: err.tool, ok: false, message: err.message },
        ...(err.stderrTail ? { stderr: err.stderrTail } : {}),
      });
    }
    if (isCapacityError(err)) throw new BerthError("too_many_requests", err.message, undefined, err.retryAfterSeconds);
    throw err;
  }
}
