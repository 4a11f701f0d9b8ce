import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ApiKeyCache } from "@/lib/auth/api-key-cache";
import { hashPassword, verifyPassword } from "@/lib/auth/password";
import { seedCatalogue } from "@/lib/catalogue/seed";
import type { Ctx } from "@/lib/core/context";
import { holderOfBearer } from "@/lib/core/services/accounts/authenticate";
import { createAccount } from "@/lib/core/services/accounts/create-account";
import { signIn } from "@/lib/core/services/accounts/sign-in";
import { createApiKey, listApiKeys, revokeApiKey } from "@/lib/core/services/api-keys";
import { deleteConnection } from "@/lib/core/services/connections/delete";
import { dryRunConnection } from "@/lib/core/services/connections/dry-run";
import { installConnection } from "@/lib/core/services/connections/install";
import { replaceCredentials } from "@/lib/core/services/connections/replace-credentials";
import {
  acceptInvite,
  describeInvite,
  inviteMember,
  joinInvite,
  listMembers,
  removeMember,
  setMemberRole,
} from "@/lib/core/services/members";
import { runInSandbox } from "@/lib/core/services/sandbox-runs/run";
import { getAccountSettings, updateAccountSettings } from "@/lib/core/services/settings";
import { listMembershipsOfUser, type Role } from "@/lib/db/queries/accounts";
import { getServer } from "@/lib/db/queries/servers";
import { insertTestConnection } from "../support/connections";
import { openTestDb, type TestDb } from "../support/databases";

const PUBLIC_URL = "http://berth.test";

/**
 * The services themselves enforce roles and the rules of keys, members and invitations: called
 * directly (as the dashboard's server actions do), not through REST. PGlite and PostgreSQL.
 */
describe.each(["pglite", "postgres"] as const)("API keys, members and settings on %s", (kind) => {
  let t: TestDb;
  let accountId: string;
  let ownerId: string;
  let connectionId: string;
  const revoked: string[] = [];

  /** A context as the dashboard builds one (userContext), or an API key's / Berth's own. */
  const ctxOf = (actor: Ctx["actor"], role?: Role, account = accountId) =>
    ({
      db: t.db,
      accountId: account,
      actor,
      role,
      publicUrl: PUBLIC_URL,
      now: Date.now,
      log: { info() {}, warn() {}, error() {} },
      onApiKeyRevoked: (id: string) => revoked.push(id),
    }) as unknown as Ctx;
  const asUser = (userId: string, role: Role, account = accountId) => ctxOf({ kind: "user", userId }, role, account);
  const owner = () => asUser(ownerId, "owner");
  const apiKey = () => ctxOf({ kind: "api_key", scope: "admin" }, "admin");

  beforeAll(async () => {
    t = await openTestDb(kind);
    await seedCatalogue(t.db);
    const created = await createAccount(t, {
      name: "Crew",
      ownerEmail: `owner-${crypto.randomUUID()}@example.com`,
      ownerPasswordHash: await hashPassword("owner-password"),
    });
    accountId = created.account.id;
    ownerId = created.userId as string;
    const memory = await getServer(t.db, { idOrSlug: "memory" });
    connectionId = crypto.randomUUID();
    await insertTestConnection(t.db, { id: connectionId, accountId, serverId: memory?.id as string, name: "m" });
  });
  afterAll(async () => {
    await t?.drop();
  });

  const forbidden = { code: "forbidden", message: "Members cannot do this; ask an owner or admin of the account." };

  it("refuses a member in the services themselves: install, dry run, delete, credentials, runs, keys, members, settings", async () => {
    const { member } = await inviteMember(owner(), { email: `m-${crypto.randomUUID()}@example.com`, role: "member" });
    const m = asUser(member.user_id, "member");
    const noRole = ctxOf({ kind: "user", userId: member.user_id }); // a user context without a role fails closed
    const [key] = (await listApiKeys(owner())).data;
    const install = { account_id: accountId, server_id: "memory", credentials: {}, keep_alive: true };
    for (const ctx of [m, noRole]) {
      const attempts: [string, () => Promise<unknown>][] = [
        ["install", () => installConnection(ctx, install)],
        ["dry run", () => dryRunConnection(ctx, { ...install, dry_run: true })],
        ["delete", () => deleteConnection(ctx, connectionId)],
        ["credentials", () => replaceCredentials(ctx, connectionId, { credentials: {} })],
        ["sandbox run", () => runInSandbox(ctx, { account_id: accountId, command: "true", timeout: 5 })],
        ["create key", () => createApiKey(ctx, { name: "sneaky" })],
        ["revoke key", () => revokeApiKey(ctx, key?.id as string)],
        ["invite", () => inviteMember(ctx, { email: `x-${crypto.randomUUID()}@example.com`, role: "member" })],
        ["set role", () => setMemberRole(ctx, member.user_id, "admin")],
        ["remove", () => removeMember(ctx, ownerId)],
        ["settings", () => updateAccountSettings(ctx, { default_timeout: 600 })],
      ];
      for (const [what, attempt] of attempts) await expect(attempt(), what).rejects.toMatchObject(forbidden);
    }
    // Nothing changed; a member may still look.
    expect((await listApiKeys(m)).data.map((k) => k.revoked_at)).toEqual([null]);
    expect((await listMembers(m)).data.find((x) => x.user_id === member.user_id)?.role).toBe("member");
    expect(await getAccountSettings(m)).toEqual({ id: accountId, name: "Crew", default_timeout: null });
    const [{ n }] = (await t.db.query<{ n: number }>(
      "select count(*)::int as n from mcp_connections where account_id = $1 and status = 'deleted'",
      [accountId],
    )) as [{ n: number }];
    expect(n).toBe(0);
    await removeMember(owner(), member.user_id);
  });

  it("creates, lists and revokes keys; a revoked key is refused at once, even from a warm cache", async () => {
    const created = await createApiKey(owner(), { name: "  agent  " });
    expect(created).toEqual({
      id: expect.any(String),
      name: "agent",
      prefix: created.key.slice(0, 12),
      created_at: expect.any(String),
      scope: "admin",
      key: expect.stringMatching(/^berth_/),
    });
    const listed = (await listApiKeys(apiKey())).data;
    expect(listed[0]).toEqual({
      id: created.id,
      name: "agent",
      prefix: created.prefix,
      created_at: created.created_at,
      last_used_at: null,
      revoked_at: null,
      scope: "admin",
    });
    expect(JSON.stringify(listed)).not.toContain(created.key);
    expect(JSON.stringify(listed)).not.toMatch(/hash/);
    await expect(createApiKey(owner(), { name: " " })).rejects.toMatchObject({ code: "bad_request" });

    const cache = new ApiKeyCache();
    const bearer = `Bearer ${created.key}`;
    expect((await holderOfBearer(t.db, bearer, cache))?.accountId).toBe(accountId);
    expect(cache.get(created.key)).toEqual({ accountId, scope: "admin" }); // warm: the gateway would not ask the database again

    // Another account cannot see or revoke it.
    const other = await createAccount(t, { name: "Other" });
    await expect(
      revokeApiKey(ctxOf({ kind: "api_key", scope: "admin" }, "admin", other.account.id), created.id),
    ).rejects.toMatchObject({ code: "not_found" });
    await expect(revokeApiKey(owner(), crypto.randomUUID())).rejects.toMatchObject({ code: "not_found" });
    await expect(revokeApiKey(owner(), "not-a-uuid")).rejects.toMatchObject({ code: "not_found" });
    expect((await holderOfBearer(t.db, bearer, cache))?.accountId).toBe(accountId);

    const ctx = { ...owner(), onApiKeyRevoked: (id: string) => cache.forgetKeyId(id) };
    const gone = await revokeApiKey(ctx, created.id);
    expect(gone).toMatchObject({ id: created.id, revoked_at: expect.any(String) });
    expect(cache.get(created.key)).toBeUndefined();
    expect(await holderOfBearer(t.db, bearer, cache)).toBeUndefined();
    // Idempotent: the first revoked_at stays.
    expect((await revokeApiKey(owner(), created.id)).revoked_at).toBe(gone.revoked_at);
    expect(revoked).toContain(created.id);
  });

  it("invites a new user by email: describe, accept with a password, sign in, no longer pending", async () => {
    const email = `New.Person-${crypto.randomUUID()}@Example.com`.toLowerCase();
    const { member, invite_url } = await inviteMember(owner(), { email: email.toUpperCase(), role: "admin" });
    expect(member).toMatchObject({ email, role: "admin", pending: true });
    expect(invite_url).toMatch(new RegExp(`^${PUBLIC_URL}/invite/[A-Za-z0-9_-]{40,}$`));
    const token = (invite_url as string).split("/").pop() as string;
    // Only the token's hash is kept.
    const stored = await t.db.query<{ token_hash: string }>("select token_hash from member_invites");
    expect(JSON.stringify(stored)).not.toContain(token);

    expect(await describeInvite(t, token)).toEqual({
      email,
      account_name: "Crew",
      user_id: member.user_id,
      needs_password: true,
    });
    expect(await describeInvite(t, `${token}x`)).toBeUndefined();
    // Not signed in before accepting (no password yet).
    await expect(signIn({ db: t.db, verifyPassword }, { email, password: "" + "anything" })).rejects.toMatchObject({
      code: "unauthorized",
    });
    await expect(acceptInvite({ db: t.db, hashPassword }, { token, password: "short" })).rejects.toMatchObject({
      code: "bad_request",
    });
    expect(await acceptInvite({ db: t.db, hashPassword }, { token, password: "a good password" })).toEqual({
      userId: member.user_id,
      accountId,
    });
    expect(await signIn({ db: t.db, verifyPassword }, { email, password: "a good password" })).toEqual({
      userId: member.user_id,
      accountId,
    });
    expect((await listMembers(owner())).data.find((m) => m.user_id === member.user_id)).toMatchObject({
      email,
      role: "admin",
      pending: false,
    });
    // Single use.
    expect(await describeInvite(t, token)).toBeUndefined();
    await expect(
      acceptInvite({ db: t.db, hashPassword }, { token, password: "another password" }),
    ).rejects.toMatchObject({
      code: "not_found",
    });
    // A member already: a conflict. A user with a password is invited elsewhere with a link too:
    // pending until they accept it, signed in as themselves (nobody is added without consent).
    await expect(inviteMember(owner(), { email, role: "member" })).rejects.toMatchObject({ code: "conflict" });
    const other = await createAccount(t, { name: "Elsewhere", ownerEmail: `o2-${crypto.randomUUID()}@example.com` });
    const there = await inviteMember(asUser(other.userId as string, "owner", other.account.id), {
      email,
      role: "member",
    });
    expect(there.member).toMatchObject({ user_id: member.user_id, pending: true });
    const link = there.invite_url.split("/").pop() as string;
    expect(await describeInvite(t, link)).toMatchObject({ email, needs_password: false });
    const before = await listMembershipsOfUser(t.db, { userId: member.user_id });
    expect(before.map((m) => m.account_id)).not.toContain(other.account.id);
    await expect(joinInvite(t, { token: link, userId: other.userId as string })).rejects.toMatchObject({
      code: "not_found",
    });
    expect(await joinInvite(t, { token: link, userId: member.user_id })).toEqual({
      userId: member.user_id,
      accountId: other.account.id,
    });
    const after = await listMembershipsOfUser(t.db, { userId: member.user_id });
    expect(after.map((m) => m.account_id)).toContain(other.account.id);
  });

  it("accepting one account's invitation accepts no other: an admin of A gains nothing of B by inviting the same email", async () => {
    const email = `target-${crypto.randomUUID()}@example.com`;
    const b = await createAccount(t, { name: "B", ownerEmail: `b-${crypto.randomUUID()}@example.com` });
    const asB = asUser(b.userId as string, "owner", b.account.id);
    await inviteMember(asB, { email, role: "admin" }); // pending in B; the link goes to the real person
    const fromA = await inviteMember(owner(), { email, role: "member" }); // A's admin invites the same email
    const token = fromA.invite_url.split("/").pop() as string;
    const who = await acceptInvite({ db: t.db, hashPassword }, { token, password: "attacker's password" });
    const accounts = (await listMembershipsOfUser(t.db, { userId: who.userId })).map((m) => m.account_id);
    expect(accounts).not.toContain(b.account.id);
    const inB = (await listMembers(asB)).data.find((m) => m.user_id === who.userId);
    expect(inB?.pending).toBe(true);
    // Sign-in lands in A, the only account whose invitation was accepted.
    expect(await signIn({ db: t.db, verifyPassword }, { email, password: "attacker's password" })).toEqual({
      userId: who.userId,
      accountId: owner().accountId,
    });
  });

  it("refuses expired links, and lets only an owner invite an owner", async () => {
    const email = `late-${crypto.randomUUID()}@example.com`;
    const { member, invite_url } = await inviteMember(owner(), { email, role: "member" });
    const token = (invite_url as string).split("/").pop() as string;
    await t.db.query("update member_invites set expires_at = now() - interval '1 second' where user_id = $1", [
      member.user_id,
    ]);
    expect(await describeInvite(t, token)).toBeUndefined();
    await expect(
      acceptInvite({ db: t.db, hashPassword }, { token, password: "a good password" }),
    ).rejects.toMatchObject({
      code: "not_found",
      message: expect.stringContaining("Ask for a new one"),
    });
    // Invited again: a new link works, the old one still does not.
    const again = await inviteMember(owner(), { email, role: "member" });
    const fresh = (again.invite_url as string).split("/").pop() as string;
    expect(await describeInvite(t, fresh)).toMatchObject({ email });
    expect(await describeInvite(t, token)).toBeUndefined();

    const admin = asUser(member.user_id, "admin");
    await expect(
      inviteMember(admin, { email: `o-${crypto.randomUUID()}@example.com`, role: "owner" }),
    ).rejects.toMatchObject({
      code: "forbidden",
    });
    await expect(
      inviteMember(apiKey(), { email: `o-${crypto.randomUUID()}@example.com`, role: "owner" }),
    ).rejects.toMatchObject({
      code: "forbidden",
    });
    await removeMember(owner(), member.user_id);
    expect(await describeInvite(t, fresh)).toBeUndefined();
  });

  it("keeps the last owner: not demoted, not removed, not even by themself; only owners touch owners", async () => {
    const lastOwner = { code: "conflict", message: "An account needs an owner: make someone else an owner first." };
    await expect(setMemberRole(owner(), ownerId, "admin")).rejects.toMatchObject(lastOwner);
    await expect(removeMember(owner(), ownerId)).rejects.toMatchObject(lastOwner);
    await expect(setMemberRole(apiKey(), ownerId, "member")).rejects.toMatchObject({ code: "forbidden" });

    const { member } = await inviteMember(owner(), {
      email: `second-${crypto.randomUUID()}@example.com`,
      role: "admin",
    });
    const admin = asUser(member.user_id, "admin");
    await expect(setMemberRole(admin, member.user_id, "owner")).rejects.toMatchObject({ code: "forbidden" });
    await expect(removeMember(admin, ownerId)).rejects.toMatchObject({ code: "forbidden" });
    await expect(setMemberRole(owner(), member.user_id, "captain" as Role)).rejects.toMatchObject({
      code: "bad_request",
    });
    await expect(setMemberRole(owner(), crypto.randomUUID(), "member")).rejects.toMatchObject({ code: "not_found" });

    expect(await setMemberRole(owner(), member.user_id, "owner")).toMatchObject({ role: "owner" });
    // Two owners: either may now step down, but not both.
    expect(await setMemberRole(owner(), ownerId, "admin")).toMatchObject({ role: "admin" });
    const second = asUser(member.user_id, "owner");
    await expect(removeMember(second, member.user_id)).rejects.toMatchObject(lastOwner);
    expect(await setMemberRole(second, ownerId, "owner")).toMatchObject({ role: "owner" });
    expect(await removeMember(owner(), member.user_id)).toMatchObject({ user_id: member.user_id, role: "owner" });
    expect((await listMembers(owner())).data.map((m) => m.user_id)).not.toContain(member.user_id);
  });

  it("reads and changes the account's settings, validating them", async () => {
    expect(await updateAccountSettings(owner(), { default_timeout: 600 })).toEqual({
      id: accountId,
      name: "Crew",
      default_timeout: 600,
    });
    expect(await updateAccountSettings(apiKey(), { name: " Crew 2 " })).toEqual({
      id: accountId,
      name: "Crew 2",
      default_timeout: 600,
    });
    for (const bad of [{ default_timeout: 59 }, { default_timeout: 86401 }, { default_timeout: 90.5 }, { name: "" }]) {
      await expect(updateAccountSettings(owner(), bad), JSON.stringify(bad)).rejects.toMatchObject({
        code: "bad_request",
      });
    }
    expect(await updateAccountSettings(owner(), { default_timeout: null, name: "Crew" })).toEqual({
      id: accountId,
      name: "Crew",
      default_timeout: null,
    });
    expect(await getAccountSettings(owner())).toMatchObject({ default_timeout: null });
  });
});
