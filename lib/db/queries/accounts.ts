import { type Db, one } from "../db";

export type AccountRow = { id: string; name: string; created_at: Date; default_timeout: number | null };
/** `email` is null for a Supabase user added by id (`berth members add --user-id`). */
export type UserRow = {
  id: string;
  email: string | null;
  password_hash: string | null;
  /** Keeps the shared catalogue (granted by Berth's operator at the command line, or first-run setup). */
  operator: boolean;
  created_at: Date;
};
export type Role = "owner" | "admin" | "member";

export function insertAccount(db: Db, { name }: { name: string }) {
  return one(
    db.query<AccountRow>("insert into accounts (name) values ($1) returning *", [name]),
  ) as Promise<AccountRow>;
}

export function getAccount(db: Db, { accountId }: { accountId: string }) {
  return one(db.query<AccountRow>("select * from accounts where id = $1", [accountId]));
}

/** Changes the account's name and/or default timeout (a key left out is left as it is). */
export function updateAccount(
  db: Db,
  { accountId }: { accountId: string },
  patch: { name?: string; default_timeout?: number | null },
) {
  return one(
    db.query<AccountRow>(
      `update accounts set
         name = case when $2 then $3 else name end,
         default_timeout = case when $4 then $5::integer else default_timeout end
       where id = $1 returning *`,
      [
        accountId,
        patch.name !== undefined,
        patch.name ?? null,
        patch.default_timeout !== undefined,
        patch.default_timeout ?? null,
      ],
    ),
  );
}

export async function countUsers(db: Db) {
  const row = await one(db.query<{ n: number }>("select count(*)::int as n from users"));
  return row?.n ?? 0;
}

export function getUserByEmail(db: Db, { email }: { email: string }) {
  return one(db.query<UserRow>("select * from users where email = $1", [email.toLowerCase()]));
}

/** Inserts the user, or returns the existing one with that email (its password is left as it was). */
export async function upsertUser(db: Db, { email, passwordHash }: { email: string; passwordHash: string | null }) {
  return (await one(
    db.query<UserRow>(
      `insert into users (email, password_hash) values ($1, $2)
       on conflict (email) do update set email = excluded.email returning *`,
      [email.toLowerCase(), passwordHash],
    ),
  )) as UserRow;
}

export async function addMembership(
  db: Db,
  { accountId, userId, role }: { accountId: string; userId: string; role: Role },
) {
  await db.query("insert into memberships (account_id, user_id, role) values ($1, $2, $3) on conflict do nothing", [
    accountId,
    userId,
    role,
  ]);
}

export async function isOperator(db: Db, { userId }: { userId: string }) {
  const row = await one(db.query<{ operator: boolean }>("select operator from users where id = $1", [userId]));
  return row?.operator === true;
}

/** Grants or withdraws the operator's role; undefined when there is no such user. */
export function setOperator(db: Db, { userId, operator }: { userId: string; operator: boolean }) {
  return one(
    db.query<{ id: string; email: string | null; operator: boolean }>(
      "update users set operator = $2 where id = $1 returning id, email, operator",
      [userId, operator],
    ),
  );
}

/**
 * A user who has no password yet and an invitation open: the first to accept any of their
 * invitations (whichever account sent it) chooses their password.
 */
export async function isUnclaimedInvitee(db: Db, { userId }: { userId: string }) {
  const row = await one(
    db.query<{ unclaimed: boolean }>(
      `select u.password_hash is null and exists (select 1 from member_invites i
         where i.user_id = u.id and i.accepted_at is null and i.expires_at > now()) as unclaimed
       from users u where u.id = $1`,
      [userId],
    ),
  );
  return row?.unclaimed === true;
}

export function listOperators(db: Db) {
  return db.query<{ id: string; email: string | null }>(
    "select id, email from users where operator order by created_at",
  );
}

/** Makes sure a user row with this id exists (a Supabase user's `sub`); an existing one is left as it was. */
export async function ensureUserId(db: Db, { userId }: { userId: string }) {
  await db.query("insert into users (id, email) values ($1, null) on conflict (id) do nothing", [userId]);
}

/** Adds the membership, or sets the role of the existing one. */
export async function setMembership(
  db: Db,
  { accountId, userId, role }: { accountId: string; userId: string; role: Role },
) {
  return (await one(
    db.query<{ account_id: string; user_id: string; role: Role }>(
      `insert into memberships (account_id, user_id, role) values ($1, $2, $3)
       on conflict (account_id, user_id) do update set role = excluded.role
       returning account_id, user_id, role`,
      [accountId, userId, role],
    ),
  )) as { account_id: string; user_id: string; role: Role };
}

/**
 * A membership grants access once it is not pending: no open invitation of the user to that
 * account (an invitation is accepted through its own link only, never through another account's).
 */
export const ACTIVE_MEMBERSHIP = `not exists (select 1 from member_invites i
  where i.account_id = m.account_id and i.user_id = m.user_id and i.accepted_at is null)`;

/** The accounts a user belongs to (invitations accepted), oldest membership first. */
export function listMembershipsOfUser(db: Db, { userId }: { userId: string }) {
  return db.query<{ account_id: string; account_name: string; role: Role }>(
    `select m.account_id, a.name as account_name, m.role from memberships m
     join accounts a on a.id = m.account_id where m.user_id = $1 and ${ACTIVE_MEMBERSHIP} order by m.created_at`,
    [userId],
  );
}
