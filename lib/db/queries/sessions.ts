import { ACTIVE_MEMBERSHIP, type Role } from "@/lib/db/queries/accounts";
import { type Db, one } from "../db";

/** Opens a session row for a user (and drops their expired ones, so the table does not grow). */
export async function insertSession(db: Db, { userId, ttlSeconds }: { userId: string; ttlSeconds: number }) {
  await db.query("delete from user_sessions where user_id = $1 and expires_at < now()", [userId]);
  const row = await one(
    db.query<{ id: string }>(
      "insert into user_sessions (user_id, expires_at) values ($1, now() + make_interval(secs => $2)) returning id",
      [userId, ttlSeconds],
    ),
  );
  return (row as { id: string }).id;
}

export async function revokeSession(db: Db, { sessionId }: { sessionId: string }) {
  await db.query("update user_sessions set revoked_at = now() where id = $1 and revoked_at is null", [sessionId]);
}

/**
 * The member a session cookie stands for: its session row still open, its user still a member of
 * the account the cookie names (with that membership's role), their invitation to it accepted.
 */
export function getSessionMember(
  db: Db,
  { sessionId, userId, accountId }: { sessionId: string; userId: string; accountId: string },
) {
  return one(
    db.query<{ role: Role; email: string; account_name: string }>(
      `select m.role, u.email, a.name as account_name from user_sessions s
       join memberships m on m.user_id = s.user_id and m.account_id = $3
       join users u on u.id = s.user_id join accounts a on a.id = m.account_id
       where s.id = $1 and s.user_id = $2 and s.revoked_at is null and s.expires_at > now()
         and ${ACTIVE_MEMBERSHIP}`,
      [sessionId, userId, accountId],
    ),
  );
}

/** Whether the session row is open (not signed out, not expired), whatever accounts its user is in. */
export async function isSessionOpen(db: Db, { sessionId, userId }: { sessionId: string; userId: string }) {
  const rows = await db.query(
    "select 1 from user_sessions where id = $1 and user_id = $2 and revoked_at is null and expires_at > now()",
    [sessionId, userId],
  );
  return rows.length === 1;
}
