import { type Db, one } from "../db";
import { exactTime, type Keyed, type PageArgs } from "../page";
import type { Role } from "./accounts";

/** A membership as the members page shows it; `pending` while an invitation is not accepted. */
export type MemberRow = {
  user_id: string;
  email: string | null;
  role: Role;
  created_at: Date;
  pending: boolean;
};

const MEMBER = `select m.user_id, u.email, m.role, m.created_at,
    exists (select 1 from member_invites i where i.account_id = m.account_id and i.user_id = m.user_id
            and i.accepted_at is null) as pending
  from memberships m join users u on u.id = m.user_id`;

/** The account's members, oldest first (keyset: created_at, user_id). */
export function listMembersOfAccount(
  db: Db,
  { accountId, page }: { accountId: string; page?: PageArgs<[string, string]> },
) {
  const after = page?.after ? "and (m.created_at, m.user_id) > ($3::timestamptz, $4::uuid)" : "";
  return db.query<Keyed<MemberRow>>(
    `select members.*, ${exactTime("members.created_at")} as page_at
     from (${MEMBER} where m.account_id = $1 ${after}) members order by created_at, user_id limit $2`,
    [accountId, page?.limit ?? null, ...(page?.after ?? [])],
  );
}

export function getMember(db: Db, { accountId, userId }: { accountId: string; userId: string }) {
  return one(db.query<MemberRow>(`${MEMBER} where m.account_id = $1 and m.user_id = $2`, [accountId, userId]));
}

/** The account's owners, locked until the transaction ends (so two demotions cannot both pass). */
export async function lockOwners(db: Db, { accountId }: { accountId: string }) {
  const rows = await db.query<{ user_id: string }>(
    "select user_id from memberships where account_id = $1 and role = 'owner' order by user_id for update",
    [accountId],
  );
  return rows.map((r) => r.user_id);
}

export function setMemberRoleRow(
  db: Db,
  { accountId, userId, role }: { accountId: string; userId: string; role: Role },
) {
  return db.query("update memberships set role = $3 where account_id = $1 and user_id = $2", [accountId, userId, role]);
}

export async function deleteMembership(db: Db, { accountId, userId }: { accountId: string; userId: string }) {
  await db.query("delete from member_invites where account_id = $1 and user_id = $2", [accountId, userId]);
  await db.query("delete from memberships where account_id = $1 and user_id = $2", [accountId, userId]);
}

/** A new invitation; earlier open ones of the same user to the same account stop working. */
export async function insertInvite(
  db: Db,
  i: { accountId: string; userId: string; tokenHash: string; createdBy: string | null; expiresAt: Date },
) {
  await db.query("delete from member_invites where account_id = $1 and user_id = $2 and accepted_at is null", [
    i.accountId,
    i.userId,
  ]);
  await db.query(
    `insert into member_invites (account_id, user_id, token_hash, created_by, expires_at)
     values ($1, $2, $3, $4, $5)`,
    [i.accountId, i.userId, i.tokenHash, i.createdBy, i.expiresAt],
  );
}

export type OpenInvite = {
  id: string;
  account_id: string;
  user_id: string;
  email: string | null;
  account_name: string;
  password_hash: string | null;
};

/** The unaccepted, unexpired invitation with this token hash (whose membership still exists). */
export function findOpenInvite(db: Db, { tokenHash, lock = false }: { tokenHash: string; lock?: boolean }) {
  return one(
    db.query<OpenInvite>(
      `select i.id, i.account_id, i.user_id, u.email, a.name as account_name, u.password_hash
       from member_invites i
       join users u on u.id = i.user_id
       join accounts a on a.id = i.account_id
       join memberships m on m.account_id = i.account_id and m.user_id = i.user_id
       where i.token_hash = $1 and i.accepted_at is null and i.expires_at > now()
       ${lock ? "for update of i, u" : ""}`,
      [tokenHash],
    ),
  );
}

/**
 * Accepts this one invitation: its membership grants access from now on. Never the user's other
 * invitations: each account's is accepted through its own link.
 */
export async function acceptInviteRow(db: Db, { inviteId }: { inviteId: string }) {
  await db.query("update member_invites set accepted_at = now() where id = $1 and accepted_at is null", [inviteId]);
}

/** A password for a user who has none yet (an invited user choosing theirs). */
/**
 * Sets a user's first password (accepting an invitation), never an operator's: an invitation is
 * any account's to send, and the operator's role is the whole catalogue's.
 */
export async function setFirstPassword(db: Db, { userId, passwordHash }: { userId: string; passwordHash: string }) {
  const rows = await db.query<{ id: string }>(
    "update users set password_hash = $2 where id = $1 and password_hash is null and not operator returning id",
    [userId, passwordHash],
  );
  return rows.length === 1;
}
