import type { Ctx } from "@/lib/core/context";
import { BerthError } from "@/lib/core/errors";
import { httpEndpointOf, isCapacityError, isDeployError } from "@/lib/core/runtime";
import type { InstallInput } from "@/lib/core/schemas/connection";
import { assertOwnAccount, getServerOrThrow } from "../scope";
import { validateCredentials } from "./credentials";

/** Starts the server with these credentials, lists its tools and tears it down; stores nothing. */
export async function dryRunConnection(ctx: Ctx, input: InstallInput) {
  assertOwnAccount(ctx, input.account_id);
  const server = await getServerOrThrow(ctx, input.server_id);
  const env = validateCredentials(server, input.credentials);
  try {
    const tools = await ctx.runtime.dryRun({
      accountId: ctx.accountId,
      startCommand: server.start_command,
      env: { ...server.env, ...env },
      network: server.network,
      http: httpEndpointOf(server),
      timeoutSeconds: 60,
    });
    return { ok: true as const, tools };
  } catch (err) {
    if (isDeployError(err)) {
      throw new BerthError("dry_run_failed", `The server did not start: ${err.message}`, { stderr: err.stderrTail });
    }
    if (isCapacityError(err)) throw new BerthError("too_many_requests", err.message, undefined, err.retryAfterSeconds);
    throw err;
  }
}
