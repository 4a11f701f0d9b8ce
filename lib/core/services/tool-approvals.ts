import type { Ctx, Deps } from "@/lib/core/context";
import { BerthError } from "@/lib/core/errors";
import { type PageQuery, pageOf, TimeAndId, toPage } from "@/lib/core/pagination";
import { isUuid } from "@/lib/db/ids";
import { addConnectionEvent } from "@/lib/db/queries/events";
import {
  type ApprovalStatus,
  decideToolApproval,
  getToolApproval,
  insertToolApproval,
  listToolApprovals,
  type ToolApprovalRow,
} from "@/lib/db/queries/tool-approvals";
import { requireAdmin } from "./scope";

/**
 * Whoever decides must see every argument: a call whose arguments are longer than this (as JSON)
 * is refused rather than shown cut, where what decides the call could hide past the cut.
 */
const MAX_ARGUMENT_CHARS = 32_768;
/** Calls of one account that may wait for approval at once, across its connections, in this process. */
const MAX_WAITING_PER_ACCOUNT = 100;
/** How often a waiting call looks at its approval itself, should the news of a decision not reach it. */
const RECHECK_MS = 2000;

/**
 * The calls waiting in this process, by approval id: a decision made here wakes its call at once,
 * one made elsewhere when the database's notification arrives (lib/node.ts).
 */
export class ApprovalWaiters {
  private readonly waiting = new Map<string, Set<() => void>>();
  private readonly perAccount = new Map<string, number>();

  /** Counts one more waiting call of the account, unless it has `max` already. */
  admit(accountId: string, max: number) {
    const now = this.perAccount.get(accountId) ?? 0;
    if (now >= max) return false;
    this.perAccount.set(accountId, now + 1);
    return true;
  }

  release(accountId: string) {
    const left = (this.perAccount.get(accountId) ?? 1) - 1;
    if (left > 0) this.perAccount.set(accountId, left);
    else this.perAccount.delete(accountId);
  }

  /** Resolves when `id` is woken or after `ms`, whichever is first. */
  wait(id: string, ms: number) {
    return new Promise<void>((resolve) => {
      const set = this.waiting.get(id) ?? new Set();
      const done = () => {
        clearTimeout(timer);
        set.delete(done);
        if (!set.size) this.waiting.delete(id);
        resolve();
      };
      const timer = setTimeout(done, ms);
      set.add(done);
      this.waiting.set(id, set);
    });
  }

  wake(id: string) {
    for (const done of [...(this.waiting.get(id) ?? [])]) done();
  }
}

export type ApprovalRequest = {
  accountId: string;
  connectionId: string;
  tool: string;
  calledAs: string;
  arguments: unknown;
  client: string;
  timeoutSeconds: number;
};

/**
 * Records a tool call that needs an owner's or admin's decision and waits for it, at most
 * `timeoutSeconds`; returns the approval as decided (`expired` when nobody decided in time).
 */
export async function awaitApproval(
  deps: Pick<Deps, "db" | "approvalWaiters">,
  request: ApprovalRequest,
  /** The call was withdrawn (cancelled by its client, or the client left): `cancelled`, unless decided first. */
  signal?: AbortSignal,
): Promise<ToolApprovalRow> {
  const shown = JSON.stringify(request.arguments ?? {});
  if (shown.length > MAX_ARGUMENT_CHARS)
    throw new Error(`its arguments are longer than the ${MAX_ARGUMENT_CHARS} characters an approver is shown`);
  const waiting = deps.approvalWaiters;
  if (waiting && !waiting.admit(request.accountId, MAX_WAITING_PER_ACCOUNT))
    throw new Error(`${MAX_WAITING_PER_ACCOUNT} calls of this account already wait for approval`);
  try {
    return await waitForDecision(deps, request, shown, signal);
  } finally {
    waiting?.release(request.accountId);
  }
}

async function waitForDecision(
  deps: Pick<Deps, "db" | "approvalWaiters">,
  request: ApprovalRequest,
  shown: string,
  signal: AbortSignal | undefined,
) {
  const deadline = Date.now() + request.timeoutSeconds * 1000;
  const row = await insertToolApproval(deps.db, { ...request, arguments: shown, expiresAt: new Date(deadline) });
  const key = { id: row.id, accountId: request.accountId };
  const end = (status: "expired" | "cancelled") =>
    deps.db.transaction(async (tx) => {
      const ended = await decideToolApproval(tx, key, { status, by: "system" });
      if (ended) await recordDecision(tx, ended);
      return ended;
    });
  signal?.addEventListener("abort", () => deps.approvalWaiters?.wake(row.id), { once: true });
  for (;;) {
    const left = deadline - Date.now();
    if (signal?.aborted || left <= 0) {
      const ended = await end(signal?.aborted ? "cancelled" : "expired");
      if (ended) return ended;
    } else await (deps.approvalWaiters?.wait(row.id, Math.min(left, RECHECK_MS)) ?? sleep(Math.min(left, RECHECK_MS)));
    const now = await getToolApproval(deps.db, key);
    if (now && now.status !== "pending") return now;
  }
}

/** Approves or rejects a waiting call; owners and admins only (an API key is an admin's, and so can decide). */
export async function decideApproval(ctx: Ctx, id: string, status: "approved" | "rejected") {
  requireAdmin(ctx);
  if (!isUuid(id)) throw new BerthError("not_found", "No such approval.");
  const key = { id, accountId: ctx.accountId };
  const by = { status, by: ctx.actor.kind, userId: ctx.actor.kind === "user" ? ctx.actor.userId : undefined };
  const decided = await ctx.db.transaction(async (tx) => {
    const row = await decideToolApproval(tx, key, by);
    if (row) await recordDecision(tx, row);
    return row;
  });
  if (!decided) {
    const row = await getToolApproval(ctx.db, key);
    if (!row) throw new BerthError("not_found", "No such approval.");
    throw new BerthError("conflict", `This call is already ${row.status}.`);
  }
  ctx.approvalWaiters?.wake(id);
  return presentApproval(decided);
}

/** Approvals answered without `limit`: the newest, as before pages. */
export const APPROVALS_WITHOUT_LIMIT = 100;

export async function listApprovals(ctx: Ctx, query: { status?: ApprovalStatus; connection_id?: string } & PageQuery) {
  const page = pageOf(query, "approvals", TimeAndId);
  const rows = await listToolApprovals(ctx.db, {
    accountId: ctx.accountId,
    status: query.status,
    connectionId: query.connection_id,
    page: page ?? { limit: APPROVALS_WITHOUT_LIMIT },
  });
  return toPage(
    rows,
    page,
    "approvals",
    (r) => [r.page_at, r.id],
    (shown) => shown.map(presentApproval),
  );
}

function recordDecision(db: Deps["db"], row: ToolApprovalRow) {
  return addConnectionEvent(db, {
    accountId: row.account_id,
    connectionId: row.connection_id,
    type: "tool_approval",
    data: { tool: row.tool, called_as: row.called_as, outcome: row.status, by: row.decided_by, approval_id: row.id },
  });
}

export function presentApproval(row: ToolApprovalRow) {
  return {
    id: row.id,
    connection_id: row.connection_id,
    tool: row.tool,
    called_as: row.called_as,
    arguments: row.arguments,
    client: row.client,
    status: row.status,
    decided_by: row.decided_by,
    decided_by_user: row.decided_by_user,
    created_at: row.created_at.toISOString(),
    expires_at: row.expires_at.toISOString(),
    decided_at: row.decided_at?.toISOString() ?? null,
  };
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
