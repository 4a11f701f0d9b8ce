import { type Db, one } from "../db";

/** An upstream authorization under way (table upstream_oauth_flows). */
export type UpstreamFlowRow = {
  state_hash: string;
  account_id: string;
  connection_id: string;
  code_verifier: string;
  return_to: string;
  expires_at: Date;
};

export async function insertUpstreamFlow(db: Db, flow: UpstreamFlowRow) {
  // Flows nobody finished are dropped as new ones start, so the table stays small.
  await db.query("delete from upstream_oauth_flows where expires_at < now()");
  await db.query(
    `insert into upstream_oauth_flows (state_hash, account_id, connection_id, code_verifier, return_to, expires_at)
     values ($1, $2, $3, $4, $5, $6)`,
    [flow.state_hash, flow.account_id, flow.connection_id, flow.code_verifier, flow.return_to, flow.expires_at],
  );
}

/**
 * The account's unexpired flow with this state, removed as it is read: a state is used once. A
 * flow of another account is left alone (whoever came back with it is not its admin).
 */
export function takeUpstreamFlow(db: Db, { stateHash, accountId }: { stateHash: string; accountId: string }) {
  return one(
    db.query<UpstreamFlowRow>(
      "delete from upstream_oauth_flows where state_hash = $1 and account_id = $2 and expires_at > now() returning *",
      [stateHash, accountId],
    ),
  );
}

export type DueRefresh = { id: string; account_id: string };

/**
 * Connections whose upstream token is due for refresh, claimed: their next refresh is pushed
 * `leaseSeconds` on in the same statement, so one instance refreshes each (another finds it not
 * due), and an instance that dies mid-refresh leaves it to be tried again after the lease. A
 * connection `auth_required`, deploying or deleted is not refreshed.
 */
export function claimDueRefreshes(db: Db, { leaseSeconds = 60, limit = 50 } = {}) {
  return db.query<DueRefresh>(
    `with due as (
       select id from mcp_connections
       where oauth_refresh_at <= now() and status in ('running', 'failed', 'expired')
       order by oauth_refresh_at for update skip locked limit $2)
     update mcp_connections c set oauth_refresh_at = now() + $1 * interval '1 second'
     from due where c.id = due.id returning c.id, c.account_id`,
    [leaseSeconds, limit],
  );
}
