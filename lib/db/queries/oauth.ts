import { type Db, one } from "../db";
import { exactTime, type Keyed, type PageArgs } from "../page";

export type OAuthRequestRow = {
  id: string;
  client_id: string;
  redirect_uri: string;
  code_challenge: string;
  state: string | null;
  scopes: string;
  connection_id: string;
  resource: string;
  expires_at: Date;
};

export type OAuthCodeRow = {
  client_id: string;
  account_id: string;
  user_id: string;
  connection_id: string;
  resource: string;
  redirect_uri: string;
  code_challenge: string;
  scopes: string;
  expires_at: Date;
  used_at: Date | null;
};

export type OAuthTokenRow = {
  kind: "access" | "refresh";
  family_id: string;
  client_id: string;
  account_id: string;
  user_id: string;
  connection_id: string;
  resource: string;
  scopes: string;
  expires_at: Date;
  used_at: Date | null;
  revoked_at: Date | null;
};

export async function getOAuthClient(db: Db, clientId: string) {
  return (await one(db.query<{ info: unknown }>("select info from oauth_clients where client_id = $1", [clientId])))
    ?.info;
}

export async function insertOAuthClient(db: Db, clientId: string, info: unknown) {
  await db.query("insert into oauth_clients (client_id, info) values ($1, $2::jsonb)", [
    clientId,
    JSON.stringify(info),
  ]);
}

export function insertOAuthRequest(db: Db, r: Omit<OAuthRequestRow, "id">) {
  return one(
    db.query<{ id: string }>(
      `insert into oauth_requests (client_id, redirect_uri, code_challenge, state, scopes, connection_id, resource, expires_at)
       values ($1, $2, $3, $4, $5, $6, $7, $8) returning id`,
      [r.client_id, r.redirect_uri, r.code_challenge, r.state, r.scopes, r.connection_id, r.resource, r.expires_at],
    ),
  ) as Promise<{ id: string }>;
}

export function getOAuthRequest(db: Db, id: string) {
  return one(db.query<OAuthRequestRow>("select * from oauth_requests where id = $1 and expires_at > now()", [id]));
}

/** Takes a request for the user's answer: once only. */
export function takeOAuthRequest(db: Db, id: string) {
  return one(
    db.query<OAuthRequestRow>("delete from oauth_requests where id = $1 and expires_at > now() returning *", [id]),
  );
}

export async function insertOAuthCode(db: Db, codeHash: string, c: Omit<OAuthCodeRow, "used_at">) {
  await db.query(
    `insert into oauth_codes (code_hash, client_id, account_id, user_id, connection_id, resource, redirect_uri,
       code_challenge, scopes, expires_at) values ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)`,
    [
      codeHash,
      c.client_id,
      c.account_id,
      c.user_id,
      c.connection_id,
      c.resource,
      c.redirect_uri,
      c.code_challenge,
      c.scopes,
      c.expires_at,
    ],
  );
}

export function getOAuthCode(db: Db, codeHash: string) {
  return one(db.query<OAuthCodeRow>("select * from oauth_codes where code_hash = $1", [codeHash]));
}

/** Marks a code used; undefined if it already was (a second exchange), or is unknown or expired. */
export function spendOAuthCode(db: Db, codeHash: string) {
  return one(
    db.query<OAuthCodeRow>(
      `update oauth_codes set used_at = now() where code_hash = $1 and used_at is null and expires_at > now()
       returning *`,
      [codeHash],
    ),
  );
}

export async function insertOAuthToken(db: Db, tokenHash: string, t: Omit<OAuthTokenRow, "used_at" | "revoked_at">) {
  await db.query(
    `insert into oauth_tokens (token_hash, kind, family_id, client_id, account_id, user_id, connection_id, resource,
       scopes, expires_at) values ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)`,
    [
      tokenHash,
      t.kind,
      t.family_id,
      t.client_id,
      t.account_id,
      t.user_id,
      t.connection_id,
      t.resource,
      t.scopes,
      t.expires_at,
    ],
  );
}

export function getOAuthToken(db: Db, tokenHash: string) {
  return one(db.query<OAuthTokenRow>("select * from oauth_tokens where token_hash = $1", [tokenHash]));
}

/**
 * Marks an unused, unrevoked, unexpired refresh token used (rotation); undefined if it was not
 * such a token: then a used one is a replay, and the caller revokes its family.
 */
export function spendRefreshToken(db: Db, tokenHash: string) {
  return one(
    db.query<OAuthTokenRow>(
      `update oauth_tokens set used_at = now() where token_hash = $1 and kind = 'refresh' and used_at is null
         and revoked_at is null and expires_at > now() returning *`,
      [tokenHash],
    ),
  );
}

export async function revokeOAuthFamily(db: Db, familyId: string) {
  await db.query("update oauth_tokens set revoked_at = now() where family_id = $1 and revoked_at is null", [familyId]);
}

/**
 * The principal behind a live access token: its grant's account, user and connection, with the
 * user's role there now (a user no longer a member gets nothing).
 */
export function findAccessToken(db: Db, tokenHash: string) {
  return one(
    db.query<{ account_id: string; user_id: string; connection_id: string; role: string; client_id: string }>(
      `select t.account_id, t.user_id, t.connection_id, t.client_id, m.role from oauth_tokens t
       join memberships m on m.account_id = t.account_id and m.user_id = t.user_id
       where t.token_hash = $1 and t.kind = 'access' and t.revoked_at is null and t.expires_at > now()`,
      [tokenHash],
    ),
  );
}

export type OAuthGrantRow = {
  family_id: string;
  client_name: string | null;
  user_id: string;
  email: string | null;
  connection_id: string;
  created_at: Date;
  last_issued_at: Date;
};

/** The grants (token families) of a connection that still hold a live token, newest first (keyset: created_at, family). */
export function listOAuthGrants(
  db: Db,
  { accountId, connectionId, page }: { accountId: string; connectionId: string; page?: PageArgs<[string, string]> },
) {
  const after = page?.after ? "where (g.created_at, g.family_id) < ($4::timestamptz, $5::uuid)" : "";
  return db.query<Keyed<OAuthGrantRow>>(
    `select g.family_id, c.info->>'client_name' as client_name, g.user_id, u.email, g.connection_id,
       g.created_at, g.last_issued_at, ${exactTime("g.created_at")} as page_at
     from (select family_id, client_id, user_id, connection_id, min(created_at) as created_at,
             max(created_at) as last_issued_at
           from oauth_tokens where account_id = $1 and connection_id = $2 and revoked_at is null
             and expires_at > now()
           group by family_id, client_id, user_id, connection_id) g
     left join oauth_clients c on c.client_id = g.client_id
     left join users u on u.id = g.user_id
     ${after}
     order by g.created_at desc, g.family_id desc limit $3`,
    [accountId, connectionId, page?.limit ?? null, ...(page?.after ?? [])],
  );
}

/** Revokes one of the account's grants; false if it has none by that id. */
export async function revokeOAuthGrant(
  db: Db,
  { accountId, connectionId, familyId }: { accountId: string; connectionId: string; familyId: string },
) {
  const rows = await db.query<{ family_id: string }>(
    `update oauth_tokens set revoked_at = now()
     where account_id = $1 and connection_id = $2 and family_id = $3 and revoked_at is null returning family_id`,
    [accountId, connectionId, familyId],
  );
  return rows.length > 0;
}
