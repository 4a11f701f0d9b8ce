import type { Ctx } from "@/lib/core/context";
import { BerthError } from "@/lib/core/errors";
import type { Db } from "@/lib/db/db";
import { countLiveConnectionsLocked } from "@/lib/db/queries/connections";

/** A full account is asked to come back once something of it stopped; a minute is a fair guess. */
const RETRY_AFTER_SECONDS = 60;

/**
 * Spends one of the account's sandbox starts, or refuses (429, `Retry-After` when one is back).
 * Berth's own restarts (maintenance, `system`) are not counted: they are not the tenant's asking.
 */
export function takeSandboxStart(ctx: Pick<Ctx, "sandboxStarts" | "accountId" | "actor">) {
  if (!ctx.sandboxStarts || ctx.actor.kind === "system") return;
  const wait = ctx.sandboxStarts.take(ctx.accountId);
  if (wait)
    throw new BerthError(
      "too_many_requests",
      `This account started its limit of sandboxes for now (installs, tests, runs and restarts); retry in ${wait} s.`,
      undefined,
      wait,
    );
}

/**
 * Inside the transaction that is about to give a connection a sandbox: refuses (429) when the
 * account already has its cap of connections holding a sandbox slot, `except` the one at hand.
 */
export async function assertSandboxCapacity(ctx: Ctx, tx: Db, except?: string) {
  const live = await countLiveConnectionsLocked(tx, { accountId: ctx.accountId, except });
  if (live >= ctx.maxSandboxesPerAccount) {
    throw new BerthError(
      "too_many_requests",
      `This account already has ${live} connections running, deploying or about to restart, its limit; delete one, then retry.`,
      undefined,
      RETRY_AFTER_SECONDS,
    );
  }
}
