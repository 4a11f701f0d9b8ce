import type { ApiKeyScope } from "@/lib/core/context";
import { type Db, one } from "../db";
import { exactTime, type Keyed, type PageArgs } from "../page";

/** An API key as it may be shown: never its hash. */
export type ApiKeyRow = {
  id: string;
  account_id: string;
  name: string;
  prefix: string;
  created_at: Date;
  last_used_at: Date | null;
  revoked_at: Date | null;
  scope: ApiKeyScope;
};
const COLUMNS = "id, account_id, name, prefix, created_at, last_used_at, revoked_at, scope";

export async function insertApiKey(
  db: Db,
  {
    accountId,
    name,
    prefix,
    keyHash,
    scope = "admin",
  }: { accountId: string; name: string; prefix: string; keyHash: string; scope?: ApiKeyScope },
) {
  return (await one(
    db.query<ApiKeyRow>(
      `insert into api_keys (account_id, name, prefix, key_hash, scope) values ($1, $2, $3, $4, $5) returning ${COLUMNS}`,
      [accountId, name, prefix, keyHash, scope],
    ),
  )) as ApiKeyRow;
}

/** The account's keys, revoked ones included, newest first. */
export function listApiKeysOfAccount(
  db: Db,
  { accountId, page }: { accountId: string; page?: PageArgs<[string, string]> },
) {
  const after = page?.after ? "and (created_at, id) < ($3::timestamptz, $4::uuid)" : "";
  return db.query<Keyed<ApiKeyRow>>(
    `select ${COLUMNS}, ${exactTime("created_at")} as page_at from api_keys where account_id = $1 ${after}
     order by created_at desc, id desc limit $2`,
    [accountId, page?.limit ?? null, ...(page?.after ?? [])],
  );
}

export function getApiKey(db: Db, { id }: { id: string }) {
  return one(db.query<ApiKeyRow>(`select ${COLUMNS} from api_keys where id = $1`, [id]));
}

/** The channel every Berth on the same PostgreSQL hears revocations on (the key's id as payload). */
export const KEY_REVOKED_CHANNEL = "berth_api_key_revoked";

/**
 * Revokes the account's key (a key revoked before keeps its first revoked_at) and tells every
 * listening Berth, whichever process revoked it; undefined if not the account's.
 */
export async function revokeApiKeyRow(db: Db, { accountId, id }: { accountId: string; id: string }) {
  const row = await one(
    db.query<ApiKeyRow>(
      `update api_keys set revoked_at = coalesce(revoked_at, now()) where id = $1 and account_id = $2
       returning ${COLUMNS}`,
      [id, accountId],
    ),
  );
  if (row) await db.query("select pg_notify($1, $2)", [KEY_REVOKED_CHANNEL, row.id]);
  return row;
}

/** The unrevoked key with this hash (its id and account); touches last_used_at at most once a minute. */
export async function findApiKeyByHash(db: Db, { keyHash }: { keyHash: string }) {
  const row = await one(
    db.query<{ account_id: string; id: string; scope: ApiKeyScope; stale: boolean }>(
      `select id, account_id, scope, (last_used_at is null or last_used_at < now() - interval '1 minute') as stale
       from api_keys where key_hash = $1 and revoked_at is null`,
      [keyHash],
    ),
  );
  if (row?.stale) await db.query("update api_keys set last_used_at = now() where id = $1", [row.id]);
  return row && { id: row.id, accountId: row.account_id, scope: row.scope };
}
