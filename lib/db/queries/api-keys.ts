import { type Db, one } from "../db";

export async function insertApiKey(
  db: Db,
  { accountId, name, prefix, keyHash }: { accountId: string; name: string; prefix: string; keyHash: string },
) {
  await db.query("insert into api_keys (account_id, name, prefix, key_hash) values ($1, $2, $3, $4)", [
    accountId,
    name,
    prefix,
    keyHash,
  ]);
}

/** The account an unrevoked key belongs to; touches last_used_at at most once a minute. */
export async function findAccountIdByKeyHash(db: Db, { keyHash }: { keyHash: string }) {
  const row = await one(
    db.query<{ account_id: string; id: string; stale: boolean }>(
      `select id, account_id, (last_used_at is null or last_used_at < now() - interval '1 minute') as stale
       from api_keys where key_hash = $1 and revoked_at is null`,
      [keyHash],
    ),
  );
  if (row?.stale) await db.query("update api_keys set last_used_at = now() where id = $1", [row.id]);
  return row?.account_id;
}
