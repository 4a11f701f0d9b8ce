import type { ToolPolicy } from "@/lib/core/schemas/tool-policy";
import { type Db, one } from "../db";
import { exactTime, type Keyed, type PageArgs } from "../page";

export type ConnectionStatus =
  | "deploying"
  | "running"
  | "failed"
  | "expired"
  | "deleted"
  | "auth_required"
  | "sleeping";

export type ConnectionRow = {
  id: string;
  account_id: string;
  server_id: string;
  server_slug: string;
  name: string;
  status: ConnectionStatus;
  provider: string;
  sandbox_id: string | null;
  credentials_ciphertext: string;
  credentials_key_id: string;
  keep_alive: boolean;
  timeout_seconds: number;
  expires_at: Date;
  last_error: string | null;
  /** The Berth instance that deployed the current sandbox. */
  host: string | null;
  started_at: Date | null;
  restart_attempts: number;
  next_restart_at: Date | null;
  /** The install's `Idempotency-Key`, when it sent one. */
  idempotency_key: string | null;
  tool_calls: number;
  tool_errors: number;
  /** Which tools the MCP endpoint offers (ToolPolicy); null: all of them. */
  tool_policy: ToolPolicy | null;
  /** Connected through upstream OAuth: when its access token expires (null: it does not, or it came pasted). */
  oauth_expires_at: Date | null;
  /** When maintenance refreshes it next (null: never). */
  oauth_refresh_at: Date | null;
  created_at: Date;
  updated_at: Date;
};

const SELECT = `select c.*, s.slug as server_slug from mcp_connections c join mcp_servers s on s.id = c.server_id`;

export async function insertConnection(
  db: Db,
  c: {
    id: string;
    accountId: string;
    serverId: string;
    name: string;
    provider: string;
    credentialsCiphertext: string;
    credentialsKeyId: string;
    keepAlive: boolean;
    timeoutSeconds: number;
    expiresAt: Date;
    host: string;
    idempotencyKey?: string;
    /** `auth_required`: it deploys once its upstream OAuth authorization is given. */
    status?: "deploying" | "auth_required";
  },
) {
  await db.query(
    `insert into mcp_connections (id, account_id, server_id, name, status, provider, credentials_ciphertext,
       credentials_key_id, keep_alive, timeout_seconds, expires_at, host, idempotency_key)
     values ($1, $2, $3, $4, $13, $5, $6, $7, $8, $9, $10, $11, $12)`,
    [
      c.id,
      c.accountId,
      c.serverId,
      c.name,
      c.provider,
      c.credentialsCiphertext,
      c.credentialsKeyId,
      c.keepAlive,
      c.timeoutSeconds,
      c.expiresAt,
      c.host,
      c.idempotencyKey ?? null,
      c.status ?? "deploying",
    ],
  );
  return getConnection(db, { accountId: c.accountId, id: c.id }) as Promise<ConnectionRow>;
}

/** The live connection an install with this `Idempotency-Key` made, if any. */
export function getConnectionByIdempotencyKey(db: Db, { accountId, key }: { accountId: string; key: string }) {
  return one(
    db.query<ConnectionRow>(`${SELECT} where c.account_id = $1 and c.idempotency_key = $2 and c.status <> 'deleted'`, [
      accountId,
      key,
    ]),
  );
}

/** A connection of this account that is not deleted. */
export function getConnection(db: Db, { accountId, id }: { accountId: string; id: string }) {
  return one(
    db.query<ConnectionRow>(`${SELECT} where c.account_id = $1 and c.id = $2 and c.status <> 'deleted'`, [
      accountId,
      id,
    ]),
  );
}

/** Same, locked for the rest of the transaction so concurrent lifecycle steps queue up. */
export function getConnectionForUpdate(db: Db, { accountId, id }: { accountId: string; id: string }) {
  return one(
    db.query<ConnectionRow>(
      `${SELECT} where c.account_id = $1 and c.id = $2 and c.status <> 'deleted' for update of c`,
      [accountId, id],
    ),
  );
}

/**
 * The account's connections, newest first (keyset: created_at, id; the partial index
 * mcp_connections_account_page_idx serves it, deep pages too).
 */
export function listConnections(db: Db, { accountId, page }: { accountId: string; page?: PageArgs<[string, string]> }) {
  const after = page?.after ? "and (c.created_at, c.id) < ($3::timestamptz, $4::uuid)" : "";
  return db.query<Keyed<ConnectionRow>>(
    `select c.*, s.slug as server_slug, ${exactTime("c.created_at")} as page_at
     from mcp_connections c join mcp_servers s on s.id = c.server_id
     where c.account_id = $1 and c.status <> 'deleted' ${after}
     order by c.created_at desc, c.id desc limit $2`,
    [accountId, page?.limit ?? null, ...(page?.after ?? [])],
  );
}

/** What may change of a connection, but its status: only lib/core/services/connections/status.ts changes that (`changeStatus`). */
export type ConnectionChanges = Partial<
  Pick<
    ConnectionRow,
    | "sandbox_id"
    | "expires_at"
    | "last_error"
    | "provider"
    | "credentials_ciphertext"
    | "credentials_key_id"
    | "host"
    | "started_at"
    | "restart_attempts"
    | "next_restart_at"
    | "name"
    | "keep_alive"
    | "oauth_expires_at"
    | "oauth_refresh_at"
  >
>;

/**
 * Applies changes to a connection. With `fromStatus`, only if the connection is still in one
 * of those statuses, so a slow deploy cannot overwrite a delete that happened meanwhile.
 */
export function updateConnection(
  db: Db,
  key: { accountId: string; id: string; fromStatus?: ConnectionStatus[] },
  changes: ConnectionChanges,
) {
  return applyChanges(db, key, changes);
}

/** Changes a connection's status (with other changes): for lib/core/services/connections/status.ts only, which records it. */
export function changeStatus(
  db: Db,
  key: { accountId: string; id: string; fromStatus: ConnectionStatus[] },
  changes: ConnectionChanges & { status: ConnectionStatus },
) {
  return applyChanges(db, key, changes);
}

async function applyChanges(
  db: Db,
  { accountId, id, fromStatus }: { accountId: string; id: string; fromStatus?: ConnectionStatus[] },
  changes: ConnectionChanges & { status?: ConnectionStatus },
) {
  const keys = Object.keys(changes) as (keyof typeof changes)[];
  const sets = keys.map((k, i) => `${k} = $${i + 3}`);
  const params: unknown[] = [accountId, id, ...keys.map((k) => changes[k])];
  let where = "account_id = $1 and id = $2";
  if (fromStatus) {
    params.push(fromStatus);
    where += ` and status = any($${params.length}::text[])`;
  }
  const rows = await db.query<{ id: string }>(
    `update mcp_connections set ${[...sets, "updated_at = now()"].join(", ")} where ${where} returning id`,
    params,
  );
  if (!rows.length) return undefined;
  return one(db.query<ConnectionRow>(`${SELECT} where c.account_id = $1 and c.id = $2`, [accountId, id]));
}

/** Connections in the given statuses across all accounts: for the supervisor and maintenance loop only. */
export function listConnectionsInStatus(db: Db, { statuses }: { statuses: ConnectionStatus[] }) {
  return db.query<ConnectionRow>(`${SELECT} where c.status = any($1::text[]) order by c.expires_at`, [statuses]);
}

/**
 * How many of the account's connections hold a sandbox slot, `except` one: deploying, running,
 * or crashed with a restart pending (the maintenance loop brings those back without asking, so
 * their slot stays theirs). Taken after the account's lock for the rest of the transaction: two
 * installs at once count one after the other, so the account's cap holds across instances too.
 */
export async function countLiveConnectionsLocked(
  db: Db,
  { accountId, except }: { accountId: string; except?: string },
) {
  await db.query("select pg_advisory_xact_lock(hashtextextended($1, 0))", [`berth.connections:${accountId}`]);
  const [row] = await db.query<{ n: number }>(
    `select count(*)::int as n from mcp_connections
      where account_id = $1 and id is distinct from $2
        and (status in ('deploying', 'running') or (status = 'failed' and next_restart_at is not null))`,
    [accountId, except ?? null],
  );
  return row?.n ?? 0;
}

/** An account's sleeping connections, counted under the same lock as its live ones. */
export async function countSleepingLocked(db: Db, { accountId }: { accountId: string }) {
  await db.query("select pg_advisory_xact_lock(hashtextextended($1, 0))", [`berth.connections:${accountId}`]);
  const [row] = await db.query<{ n: number }>(
    "select count(*)::int as n from mcp_connections where account_id = $1 and status = 'sleeping'",
    [accountId],
  );
  return row?.n ?? 0;
}

/**
 * Credentials to re-encrypt: connections of every account (deleted ones too: their ciphertext
 * is kept) under another key than `keyId`, by id after `afterId`, so a run goes through each once.
 */
export function listCredentialsUnderOtherKeys(
  db: Db,
  { keyId, afterId, limit }: { keyId: string; afterId: string; limit: number },
) {
  return db.query<Pick<ConnectionRow, "id" | "credentials_key_id" | "credentials_ciphertext">>(
    `select id, credentials_key_id, credentials_ciphertext from mcp_connections
     where credentials_key_id <> $1 and id > $2 order by id limit $3`,
    [keyId, afterId, limit],
  );
}

/**
 * Replaces a connection's ciphertext only if it is still the one that was read, so a credential
 * change made meanwhile is never overwritten by the old credentials. Answers whether it did.
 */
export async function replaceCiphertextIfUnchanged(
  db: Db,
  {
    id,
    from,
    to,
  }: { id: string; from: { keyId: string; ciphertext: string }; to: { keyId: string; ciphertext: string } },
) {
  const rows = await db.query(
    `update mcp_connections set credentials_key_id = $4, credentials_ciphertext = $5
     where id = $1 and credentials_key_id = $2 and credentials_ciphertext = $3 returning id`,
    [id, from.keyId, from.ciphertext, to.keyId, to.ciphertext],
  );
  return rows.length > 0;
}

/** How many connections' credentials each key encrypts. */
export function countCredentialsByKey(db: Db) {
  return db.query<{ key_id: string; n: number }>(
    "select credentials_key_id as key_id, count(*)::int as n from mcp_connections group by 1 order by 1",
  );
}

/** The channel every Berth on the same PostgreSQL hears tool policy changes on (the connection's id as payload). */
export const TOOL_POLICY_CHANNEL = "berth_tool_policy";

/**
 * Sets a live connection's tool policy (null: none) and tells every listening Berth, since each
 * instance holding a session with the connection's server applies it there; undefined if there
 * is no such connection.
 */
export async function setToolPolicyRow(
  db: Db,
  { accountId, id }: { accountId: string; id: string },
  policy: ToolPolicy | null,
) {
  const rows = await db.query<{ id: string }>(
    `update mcp_connections set tool_policy = $3::jsonb, updated_at = now()
     where account_id = $1 and id = $2 and status <> 'deleted' returning id`,
    [accountId, id, policy && JSON.stringify(policy)],
  );
  if (!rows.length) return undefined;
  await db.query("select pg_notify($1, $2)", [TOOL_POLICY_CHANNEL, id]);
  return one(db.query<ConnectionRow>(`${SELECT} where c.account_id = $1 and c.id = $2`, [accountId, id]));
}

/** A connection's tool policy by id alone, for an instance told it changed. */
export async function getToolPolicy(db: Db, { id }: { id: string }) {
  const row = await one(
    db.query<{ tool_policy: ToolPolicy | null }>("select tool_policy from mcp_connections where id = $1", [id]),
  );
  return row?.tool_policy ?? undefined;
}
