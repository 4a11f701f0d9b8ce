import { type Db, one } from "../db";
import { exactTime, type Keyed, type PageArgs } from "../page";

export type ApprovalStatus = "pending" | "approved" | "rejected" | "expired" | "cancelled";

export type ToolApprovalRow = {
  id: string;
  account_id: string;
  connection_id: string;
  tool: string;
  called_as: string;
  arguments: string;
  client: string;
  status: ApprovalStatus;
  decided_by: string | null;
  decided_by_user: string | null;
  created_at: Date;
  expires_at: Date;
  decided_at: Date | null;
};

/** The channel every Berth on the same PostgreSQL hears decisions on (the approval's id as payload). */
export const TOOL_APPROVAL_CHANNEL = "berth_tool_approval";

export function insertToolApproval(
  db: Db,
  a: {
    accountId: string;
    connectionId: string;
    tool: string;
    calledAs: string;
    arguments: string;
    client: string;
    expiresAt: Date;
  },
) {
  return one(
    db.query<ToolApprovalRow>(
      `insert into tool_approvals (account_id, connection_id, tool, called_as, arguments, client, expires_at)
       values ($1, $2, $3, $4, $5, $6, $7) returning *`,
      [a.accountId, a.connectionId, a.tool, a.calledAs, a.arguments, a.client, a.expiresAt],
    ),
  ) as Promise<ToolApprovalRow>;
}

export function getToolApproval(db: Db, { id, accountId }: { id: string; accountId?: string }) {
  return one(
    db.query<ToolApprovalRow>("select * from tool_approvals where id = $1 and ($2::uuid is null or account_id = $2)", [
      id,
      accountId ?? null,
    ]),
  );
}

/** The account's approvals, newest first (keyset: created_at, id); only those in `status` when given. */
export function listToolApprovals(
  db: Db,
  {
    accountId,
    status,
    connectionId,
    page,
  }: {
    accountId: string;
    status?: ApprovalStatus;
    connectionId?: string;
    page: NonNullable<PageArgs<[string, string]>>;
  },
) {
  const after = page.after ? "and (created_at, id) < ($5::timestamptz, $6::uuid)" : "";
  return db.query<Keyed<ToolApprovalRow>>(
    `select *, ${exactTime("created_at")} as page_at from tool_approvals
     where account_id = $1 and ($2::text is null or status = $2) and ($3::uuid is null or connection_id = $3) ${after}
     order by created_at desc, id desc limit $4`,
    [accountId, status ?? null, connectionId ?? null, page.limit, ...(page.after ?? [])],
  );
}

/**
 * Decides a pending approval (once: a second decision, or one after it expired, changes nothing
 * and returns undefined) and tells every listening Berth.
 */
export async function decideToolApproval(
  db: Db,
  { id, accountId }: { id: string; accountId: string },
  d: { status: Exclude<ApprovalStatus, "pending">; by: string; userId?: string },
) {
  const row = await one(
    db.query<ToolApprovalRow>(
      `update tool_approvals set status = $3, decided_by = $4, decided_by_user = $5, decided_at = now()
       where id = $1 and account_id = $2 and status = 'pending' returning *`,
      [id, accountId, d.status, d.by, d.userId ?? null],
    ),
  );
  if (row) await db.query("select pg_notify($1, $2)", [TOOL_APPROVAL_CHANNEL, id]);
  return row;
}
