import type { Ctx } from "@/lib/core/context";
import { BerthError } from "@/lib/core/errors";
import { parseInput } from "@/lib/core/http/input";
import { type Listed, type PageQuery, pageOf, TimeAndId, toPage } from "@/lib/core/pagination";
import { iso } from "@/lib/core/schemas/common";
import {
  AcceptInviteInput,
  type InvitedMember,
  InviteMemberInput,
  type Member,
  MemberRole,
} from "@/lib/core/schemas/member";
import { sha256Hex } from "@/lib/crypto/api-keys";
import type { Db } from "@/lib/db/db";
import { isUuid } from "@/lib/db/ids";
import { getUserByEmail, type Role, setMembership, upsertUser } from "@/lib/db/queries/accounts";
import {
  acceptInviteRow,
  deleteMembership,
  findOpenInvite,
  getMember,
  insertInvite,
  listMembersOfAccount,
  lockOwners,
  type MemberRow,
  setFirstPassword,
  setMemberRoleRow,
} from "@/lib/db/queries/members";
import { requireAdmin } from "./scope";

/** How long an invitation link works. */
export const INVITE_TTL_MS = 7 * 24 * 3600 * 1000;

export type MembersCtx = Pick<Ctx, "db" | "accountId" | "actor" | "role" | "publicUrl" | "now" | "supabaseAuth">;

const toMember = (row: MemberRow): Member => ({
  user_id: row.user_id,
  email: row.email,
  role: row.role,
  created_at: iso(row.created_at) as string,
  pending: row.pending,
});

const ONLY_OWNERS = "Only an owner can make someone an owner, or change or remove an owner.";
const LAST_OWNER = "An account needs an owner: make someone else an owner first.";

/** The account's members, oldest first; any member may look. */
export async function listMembers(ctx: MembersCtx, query: PageQuery = {}): Promise<Listed<Member>> {
  const page = pageOf(query, "members", TimeAndId);
  const rows = await listMembersOfAccount(ctx.db, { accountId: ctx.accountId, page });
  return toPage(
    rows,
    page,
    "members",
    (r) => [r.page_at, r.user_id],
    (shown) => shown.map(toMember),
  );
}

/**
 * Invites someone by email (owners and admins; only an owner invites an owner): a pending
 * membership, which grants nothing until accepted through its single-use link, valid 7 days:
 * `invite_url`, answered this once (only the token's SHA-256 is kept). A user Berth does not know
 * yet is created without a password and chooses one there; a user with a password signs in there
 * and joins (no one is added to an account without accepting). Inviting a pending member again
 * replaces their link (and role); inviting someone who already is a member is a conflict.
 */
export async function inviteMember(ctx: MembersCtx, input: InviteMemberInput): Promise<InvitedMember> {
  requireAdmin(ctx);
  const { email, role } = parseInput(InviteMemberInput, input);
  if (role === "owner" && ctx.role !== "owner") throw new BerthError("forbidden", ONLY_OWNERS);
  return ctx.db.transaction(async (tx) => {
    let user = await getUserByEmail(tx, { email });
    const existing = user && (await getMember(tx, { accountId: ctx.accountId, userId: user.id }));
    if (existing && !existing.pending)
      throw new BerthError("conflict", `${email} is a member already; change their role instead.`);
    if (existing?.role === "owner" && role !== "owner" && ctx.role !== "owner")
      throw new BerthError("forbidden", ONLY_OWNERS);
    if (!user && ctx.supabaseAuth)
      throw new BerthError(
        "bad_request",
        "Users sign in with Supabase Auth here: create the user in Supabase, then add them with " +
          "`npx berth members add --account <account_id> --user-id <their id>`.",
        [{ path: "email", message: "No user has this email." }],
      );
    user ??= await upsertUser(tx, { email, passwordHash: null });
    await setMembership(tx, { accountId: ctx.accountId, userId: user.id, role });
    const token = Buffer.from(crypto.getRandomValues(new Uint8Array(32))).toString("base64url");
    await insertInvite(tx, {
      accountId: ctx.accountId,
      userId: user.id,
      tokenHash: await sha256Hex(token),
      createdBy: ctx.actor.kind === "user" ? ctx.actor.userId : null,
      expiresAt: new Date(ctx.now() + INVITE_TTL_MS),
    });
    const member = (await getMember(tx, { accountId: ctx.accountId, userId: user.id })) as MemberRow;
    return { member: toMember(member), invite_url: `${ctx.publicUrl}/invite/${token}` };
  });
}

/**
 * Changes a member's role (owners and admins). Only an owner makes someone an owner or changes an
 * owner's role; the last owner cannot be demoted (409).
 */
export async function setMemberRole(ctx: MembersCtx, userId: string, role: Role): Promise<Member> {
  requireAdmin(ctx);
  const newRole = parseInput(MemberRole, role);
  return ctx.db.transaction(async (tx) => {
    const owners = await lockOwners(tx, { accountId: ctx.accountId });
    const member = await memberOrThrow(tx, ctx.accountId, userId);
    if (member.role === newRole) return toMember(member);
    if ((newRole === "owner" || member.role === "owner") && ctx.role !== "owner")
      throw new BerthError("forbidden", ONLY_OWNERS);
    if (member.role === "owner" && owners.length <= 1) throw new BerthError("conflict", LAST_OWNER);
    await setMemberRoleRow(tx, { accountId: ctx.accountId, userId, role: newRole });
    return toMember((await getMember(tx, { accountId: ctx.accountId, userId })) as MemberRow);
  });
}

/**
 * Removes a member, and their open invitation (owners and admins). Only an owner removes an owner;
 * the last owner cannot be removed (409), not even by themself. Answers the member as they were.
 */
export async function removeMember(ctx: MembersCtx, userId: string): Promise<Member> {
  requireAdmin(ctx);
  return ctx.db.transaction(async (tx) => {
    const owners = await lockOwners(tx, { accountId: ctx.accountId });
    const member = await memberOrThrow(tx, ctx.accountId, userId);
    if (member.role === "owner" && ctx.role !== "owner") throw new BerthError("forbidden", ONLY_OWNERS);
    if (member.role === "owner" && owners.length <= 1) throw new BerthError("conflict", LAST_OWNER);
    await deleteMembership(tx, { accountId: ctx.accountId, userId });
    return toMember(member);
  });
}

async function memberOrThrow(db: Db, accountId: string, userId: string) {
  const member = isUuid(userId) ? await getMember(db, { accountId, userId }) : undefined;
  if (!member) throw new BerthError("not_found", "No such member.");
  return member;
}

const INVALID_INVITE =
  "This invitation link is not valid: it was used already, has expired or was withdrawn. Ask for a new one.";

/**
 * What the invitation page shows: whose invitation, to which account, and whether they choose a
 * password (a new user) or sign in to accept (a user who has one); undefined when the link does
 * not work.
 */
export async function describeInvite(
  deps: { db: Db },
  token: string,
): Promise<{ email: string; account_name: string; user_id: string; needs_password: boolean } | undefined> {
  if (typeof token !== "string" || !token || token.length > 200) return undefined;
  const invite = await findOpenInvite(deps.db, { tokenHash: await sha256Hex(token) });
  if (!invite) return undefined;
  return {
    email: invite.email ?? "",
    account_name: invite.account_name,
    user_id: invite.user_id,
    needs_password: !invite.password_hash,
  };
}

/**
 * Accepts an invitation of a new user: sets the password they choose and uses this one link up.
 * Their invitations to other accounts stay pending: each is accepted through its own link, so an
 * admin who invites the same email elsewhere gains nothing of those accounts. Answers whom to
 * sign in, to which account. A used, expired, withdrawn or unknown link is not found (404); so is
 * one for a user who has a password already (they sign in and join instead: `joinInvite`).
 */
export async function acceptInvite(
  deps: { db: Db; hashPassword(password: string): Promise<string> },
  input: AcceptInviteInput,
): Promise<{ userId: string; accountId: string }> {
  const { token, password } = parseInput(AcceptInviteInput, input);
  const tokenHash = await sha256Hex(token);
  // Hashing is slow (Argon2): done before the transaction, so no lock waits for it.
  if (!(await findOpenInvite(deps.db, { tokenHash }))) throw new BerthError("not_found", INVALID_INVITE);
  const passwordHash = await deps.hashPassword(password);
  return deps.db.transaction(async (tx) => {
    const invite = await findOpenInvite(tx, { tokenHash, lock: true });
    if (!invite || invite.password_hash) throw new BerthError("not_found", INVALID_INVITE);
    if (!(await setFirstPassword(tx, { userId: invite.user_id, passwordHash })))
      throw new BerthError("not_found", INVALID_INVITE);
    await acceptInviteRow(tx, { inviteId: invite.id });
    return { userId: invite.user_id, accountId: invite.account_id };
  });
}

/**
 * Accepts an invitation as the signed-in user it was made for (a user with a password, or a
 * Supabase user): their membership of that account grants access from now on. Anyone else's
 * session gets 404.
 */
export async function joinInvite(deps: { db: Db }, { token, userId }: { token: string; userId: string }) {
  const tokenHash = await sha256Hex(String(token));
  return deps.db.transaction(async (tx) => {
    const invite = await findOpenInvite(tx, { tokenHash, lock: true });
    if (!invite || invite.user_id !== userId) throw new BerthError("not_found", INVALID_INVITE);
    await acceptInviteRow(tx, { inviteId: invite.id });
    return { userId, accountId: invite.account_id };
  });
}
