import { splitCommand } from "@/lib/core/command-line";
import type { Ctx } from "@/lib/core/context";
import { BerthError } from "@/lib/core/errors";
import { isCapacityError, type RunResult } from "@/lib/core/runtime";
import type { SandboxRunInput } from "@/lib/core/schemas/sandbox-run";
import { recordOneOffUsage } from "@/lib/db/queries/sandbox-usage";
import { takeSandboxStart } from "../connections/capacity";
import { assertOwnAccount, requireAdmin } from "../scope";

/** Runs a one-off command in a fresh sandbox of the account's provider, destroyed afterwards. */
export async function runInSandbox(ctx: Ctx, input: SandboxRunInput) {
  requireAdmin(ctx);
  assertOwnAccount(ctx, input.account_id);
  let argv: string[];
  try {
    argv = typeof input.command === "string" ? splitCommand(input.command) : input.command;
  } catch (err) {
    throw new BerthError("bad_request", "The command is not valid.", [
      { path: "command", message: (err as Error).message },
    ]);
  }
  takeSandboxStart(ctx);
  let result: RunResult;
  try {
    result = await ctx.runtime.run({
      accountId: ctx.accountId,
      argv,
      stdin: input.stdin,
      timeoutSeconds: input.timeout,
    });
  } catch (err) {
    if (isCapacityError(err)) throw new BerthError("too_many_requests", err.message, undefined, err.retryAfterSeconds);
    ctx.log.error({ err }, "sandbox run failed");
    throw new BerthError("sandbox_provider_failed", `The sandbox provider failed: ${(err as Error).message}`);
  }
  // Metered after the fact: the run's output is the caller's even if the record fails.
  await recordOneOffUsage(ctx.db, {
    accountId: ctx.accountId,
    provider: ctx.runtime.provider,
    durationMs: result.duration_ms,
  }).catch((err) => ctx.log.error({ err }, "a sandbox run's usage was not recorded"));
  return result;
}
