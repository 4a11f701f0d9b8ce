import { type Db, one } from "../db";

export type AccountRow = { id: string; name: string; created_at: Date };
/** `email` is null for a Supabase user added by id (`berth members add --user-id`). */
export type UserRow = { id: string; email: string | null; password_hash: string | null; created_at: Date };
export type Role = "owner" | "admin" | "member";

export function insertAccount(db: Db, { name }: { name: string }) {
  return one(
    db.query<AccountRow>("insert into accounts (name) values ($1) returning *", [name]),
  ) as Promise<AccountRow>;
}

export function getAccount(db: Db, { accountId }: { accountId: string }) {
  return one(db.query<AccountRow>("select * from accounts where id = $1", [accountId]));
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

/** The accounts a user belongs to, oldest membership first. */
export function listMembershipsOfUser(db: Db, { userId }: { userId: string }) {
  return db.query<{ account_id: string; account_name: string; role: Role }>(
    `select m.account_id, a.name as account_name, m.role from memberships m
     join accounts a on a.id = m.account_id where m.user_id = $1 order by m.created_at`,
    [userId],
  );
}

export function getMembership(db: Db, { accountId, userId }: { accountId: string; userId: string }) {
  return one(
    db.query<{ role: Role; email: string; account_name: string }>(
      `select m.role, u.email, a.name as account_name from memberships m
       join users u on u.id = m.user_id join accounts a on a.id = m.account_id
       where m.account_id = $1 and m.user_id = $2`,
      [accountId, userId],
    ),
  );
}
