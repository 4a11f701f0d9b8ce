import { mkdtemp, rm, writeFile } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { CATALOGUE } from "@/lib/catalogue/catalogue";
import { seedCatalogue } from "@/lib/catalogue/seed";
import { runCommand } from "@/lib/cli/commands";
import type { Ctx } from "@/lib/core/context";
import {
  ServerDefinitionInput as InputSchema,
  type ServerDefinitionInput,
  serverFieldsOf,
} from "@/lib/core/schemas/server-definition";
import { createAccount } from "@/lib/core/services/accounts/create-account";
import { createFirstAccount } from "@/lib/core/services/accounts/first-run";
import { dryRunConnection } from "@/lib/core/services/connections/dry-run";
import { installConnection } from "@/lib/core/services/connections/install";
import {
  canEditCatalogue,
  countDefinitionConnections,
  createDefinition,
  getDefinition,
  listDefinitions,
  removeDefinition,
  updateDefinition,
} from "@/lib/core/services/definitions/definitions";
import { acceptInvite, inviteMember, removeMember } from "@/lib/core/services/members";
import { type CredentialsCipher, createCredentialsCipher } from "@/lib/crypto/credentials-cipher";
import { isOperator } from "@/lib/db/queries/accounts";
import { getServer, upsertServer } from "@/lib/db/queries/servers";
import { insertTestConnection } from "../support/connections";
import { openTestDb, type TestDb } from "../support/databases";

const weather = (over: Partial<ServerDefinitionInput> = {}): ServerDefinitionInput =>
  InputSchema.parse({
    slug: `weather-${crypto.randomUUID().slice(0, 8)}`,
    title: "Weather",
    start_command: "npx -y weather-mcp@1.0.0",
    credential_schema: {
      type: "object",
      properties: { WEATHER_TOKEN: { writeOnly: true } },
      required: ["WEATHER_TOKEN"],
    },
    tools: ["forecast", "alerts"],
    check: { tool: "alerts" },
    ...over,
  });

/**
 * The catalogue is shared by every account, so only operators change it (never an account's own
 * admin or API key), in the services themselves; a removed definition leaves the connections that
 * run it working. PGlite and PostgreSQL.
 */
describe.each(["pglite", "postgres"] as const)("editing the catalogue on %s", (kind) => {
  let t: TestDb;
  let accountId: string;
  let operatorId: string;
  let ownerId: string;
  let tenantAccountId: string;

  const ctxOf = (actor: Ctx["actor"], role: Ctx["role"] = "owner") =>
    ({ db: t.db, accountId, actor, role, now: Date.now, log: { info() {}, warn() {}, error() {} } }) as unknown as Ctx;
  const operator = () => ctxOf({ kind: "user", userId: operatorId });
  let cipher: CredentialsCipher;
  const cli = (command: string, options: Record<string, string> = {}) =>
    runCommand({ db: t.db, cipher, hashPassword: async () => "x" }, { command, options });

  beforeAll(async () => {
    t = await openTestDb(kind);
    cipher = await createCredentialsCipher([{ id: "k1", raw: crypto.getRandomValues(new Uint8Array(32)) }]);
    await seedCatalogue(t.db);
    const first = await createAccount(t, {
      name: "Ops",
      ownerEmail: `ops-${crypto.randomUUID()}@example.com`,
      operator: true,
    });
    accountId = first.account.id;
    operatorId = first.userId as string;
    const other = await createAccount(t, { name: "Tenant", ownerEmail: `owner-${crypto.randomUUID()}@example.com` });
    ownerId = other.userId as string;
    tenantAccountId = other.account.id;
  });
  afterAll(async () => {
    await t?.drop();
  });

  const refused = { code: "forbidden", message: "Only an operator of this Berth can change the catalogue." };

  it("lets only operators and Berth itself change it: not an account's owner, nor an API key", async () => {
    expect(await isOperator(t.db, { userId: operatorId })).toBe(true);
    expect(await canEditCatalogue(operator())).toBe(true);
    expect(await canEditCatalogue(ctxOf({ kind: "system" }))).toBe(true);
    const owner = ctxOf({ kind: "user", userId: ownerId });
    const key = ctxOf({ kind: "api_key", scope: "admin" }, "admin");
    for (const ctx of [owner, key]) {
      expect(await canEditCatalogue(ctx)).toBe(false);
      const def = weather();
      await expect(createDefinition(ctx, def)).rejects.toMatchObject(refused);
      await expect(updateDefinition(ctx, "memory", { ...weather(), slug: "memory" })).rejects.toMatchObject(refused);
      await expect(removeDefinition(ctx, "memory")).rejects.toMatchObject(refused);
      await expect(countDefinitionConnections(ctx, "memory")).rejects.toMatchObject(refused);
      expect(await getServer(t.db, { idOrSlug: def.slug })).toBeUndefined();
    }
    expect((await getDefinition(owner, "memory")).title).toBe("Memory");
  });

  it("adds a definition with its tools and check; a slug in use is a conflict on the slug", async () => {
    const def = weather();
    const row = await createDefinition(operator(), def);
    expect(row).toMatchObject({ slug: def.slug, tools: ["forecast", "alerts"], credential_check: { tool: "alerts" } });
    expect((await listDefinitions(t)).data.map((d) => d.slug)).toContain(def.slug);
    await expect(createDefinition(operator(), { ...def, title: "Again" })).rejects.toMatchObject({
      code: "conflict",
      details: [{ path: "slug", message: "Taken: another server in the catalogue has this slug." }],
    });
    expect((await getDefinition(t, def.slug)).title).toBe("Weather");
  });

  it("writes a new definition and an edit in one statement each: no race between looking and writing", async () => {
    // A new definition never overwrites one in the catalogue, however many race to add the slug.
    const def = weather();
    const fields = serverFieldsOf(def);
    expect(await upsertServer(t.db, fields, "removed")).toMatchObject({ title: "Weather" });
    expect(await upsertServer(t.db, { ...fields, title: "Overwritten" }, "removed")).toBeUndefined();
    expect((await getDefinition(t, def.slug)).title).toBe("Weather");
    // An edit that lands after a removal does not bring the definition back.
    await removeDefinition(operator(), def.slug);
    expect(await upsertServer(t.db, { ...fields, title: "Edited" }, "live")).toBeUndefined();
    expect(await getServer(t.db, { idOrSlug: def.slug })).toBeUndefined();
    // A removed slug may be added again, as new.
    expect(await upsertServer(t.db, { ...fields, title: "Again" }, "removed")).toMatchObject({ title: "Again" });
    const outcomes = await Promise.allSettled(
      ["A", "B", "C", "D"].map((title) =>
        createDefinition(operator(), { ...weather({ title }), slug: `raced-${kind}` }),
      ),
    );
    expect(outcomes.filter((o) => o.status === "fulfilled").length).toBe(1);
  });

  it("edits a definition but never its slug; a missing one is not found", async () => {
    const def = weather();
    await createDefinition(operator(), def);
    const edited = await updateDefinition(operator(), def.slug, { ...def, title: "Weather Pro", tools: ["forecast"] });
    expect(edited).toMatchObject({ title: "Weather Pro", tools: ["forecast"] });
    await expect(updateDefinition(operator(), def.slug, { ...def, slug: "renamed" })).rejects.toMatchObject({
      code: "bad_request",
      details: [{ path: "slug" }],
    });
    await expect(
      updateDefinition(operator(), "no-such-server", { ...def, slug: "no-such-server" }),
    ).rejects.toMatchObject({
      code: "not_found",
    });
  });

  it("refuses a check whose tool the definition does not declare", () => {
    const r = InputSchema.safeParse({ ...weather(), tools: ["forecast"], check: { tool: "alerts" } });
    expect(r.success).toBe(false);
    expect(r.error?.issues).toEqual([
      expect.objectContaining({ path: ["check", "tool"], message: "Not among the tools it declares." }),
    ]);
  });

  it("removes a definition from the catalogue: no new install, while its connections keep their server", async () => {
    const def = weather({ credential_schema: { type: "object", properties: {} }, check: undefined });
    const row = await createDefinition(operator(), def);
    const connectionId = crypto.randomUUID();
    await insertTestConnection(t.db, { id: connectionId, accountId, serverId: row.id, name: "w" });
    expect(await countDefinitionConnections(operator(), def.slug)).toBe(1);
    expect(await removeDefinition(operator(), def.slug)).toEqual({ slug: def.slug, connections: 1 });

    expect((await listDefinitions(t)).data.map((d) => d.slug)).not.toContain(def.slug);
    await expect(getDefinition(t, def.slug)).rejects.toMatchObject({ code: "not_found" });
    await expect(removeDefinition(operator(), def.slug)).rejects.toMatchObject({ code: "not_found" });
    const install = { account_id: accountId, server_id: def.slug, credentials: {}, keep_alive: true };
    await expect(installConnection(operator(), install)).rejects.toMatchObject({ code: "not_found" });
    await expect(dryRunConnection(operator(), { ...install, dry_run: true })).rejects.toMatchObject({
      code: "not_found",
    });
    // What runs it still finds it (its deploys, its page).
    expect((await getDefinition(t, row.id, { includeRemoved: true })).slug).toBe(def.slug);

    // Adding it again (the CLI's upsert) brings it back.
    await cli("servers add", { file: await writeJson(def) });
    expect((await getDefinition(t, def.slug)).removed_at).toBeNull();
  });

  it("does not seed a removed built-in back", async () => {
    await removeDefinition(operator(), "sequential-thinking");
    await seedCatalogue(t.db);
    expect((await listDefinitions(t)).data.map((d) => d.slug)).not.toContain("sequential-thinking");
    await cli("servers add", {
      file: await writeJson(toInput(CATALOGUE.find((c) => c.slug === "sequential-thinking"))),
    });
    expect((await listDefinitions(t)).data.map((d) => d.slug)).toContain("sequential-thinking");
  });

  it("an invitation never chooses an operator's password, and the role waits until an invitee has one", async () => {
    const email = `invitee-${crypto.randomUUID()}@example.com`;
    const admin = ctxOf({ kind: "user", userId: operatorId }, "owner");
    const withUrl = { ...admin, publicUrl: "http://berth.test" } as Ctx;
    const team = await inviteMember(withUrl, { email, role: "admin" });
    // Whoever accepts any of the invitee's links first would choose their password: no role yet.
    await expect(cli("operators grant", { email })).rejects.toMatchObject({ code: "conflict" });
    expect(await isOperator(t.db, { userId: team.member.user_id })).toBe(false);

    // Made an operator some other way while password-less (by id, before any invitation was open):
    // another account's invitation of that email still cannot choose the password.
    await removeMember(withUrl, team.member.user_id);
    await cli("operators grant", { email });
    const tenantOwner = { ...ctxOf({ kind: "user", userId: ownerId }), accountId: tenantAccountId };
    const lure = await inviteMember({ ...tenantOwner, publicUrl: "http://berth.test" } as Ctx, {
      email,
      role: "member",
    });
    const token = lure.invite_url.split("/invite/")[1] as string;
    await expect(
      acceptInvite({ db: t.db, hashPassword: async () => "hash" }, { token, password: "attacker-pw" }),
    ).rejects.toMatchObject({
      code: "not_found",
    });
    const [row] = await t.db.query<{ password_hash: string | null }>("select password_hash from users where id = $1", [
      team.member.user_id,
    ]);
    expect(row?.password_hash).toBeNull();
  });

  it("grants, lists and withdraws the operator's role from the CLI; removes from the CLI", async () => {
    const email = `new-op-${crypto.randomUUID()}@example.com`;
    const made = await createAccount(t, { name: "Later", ownerEmail: email });
    expect(await cli("operators grant", { email })).toEqual({ user_id: made.userId, email, operator: true });
    expect(await cli("operators list")).toContainEqual({ user_id: made.userId, email });
    expect(await canEditCatalogue(ctxOf({ kind: "user", userId: made.userId as string }))).toBe(true);
    expect(await cli("operators revoke", { "user-id": made.userId as string })).toMatchObject({ operator: false });
    expect(await canEditCatalogue(ctxOf({ kind: "user", userId: made.userId as string }))).toBe(false);
    await expect(cli("operators grant", { email: "nobody@example.com" })).rejects.toMatchObject({ code: "not_found" });
    await expect(cli("operators grant", {})).rejects.toMatchObject({ code: "bad_request" });
    await expect(cli("operators grant", { "user-id": crypto.randomUUID() })).rejects.toMatchObject({
      code: "not_found",
    });

    const def = weather();
    await createDefinition(operator(), def);
    expect(await cli("servers remove", { slug: def.slug })).toEqual({ slug: def.slug, connections: 0 });
    await expect(cli("servers remove", { slug: def.slug })).rejects.toMatchObject({ code: "not_found" });
  });
});

/** A definition file for `servers add`, in a directory removed after the suite. */
async function writeJson(value: unknown) {
  const dir = await mkdtemp(path.join(os.tmpdir(), "berth-test-definition-"));
  written.push(dir);
  const file = path.join(dir, "definition.json");
  await writeFile(file, JSON.stringify(value));
  return file;
}
const written: string[] = [];
afterAll(async () => {
  for (const dir of written) await rm(dir, { recursive: true, force: true });
});

/** A seeded definition as `servers add` takes it. */
function toInput(fields: (typeof CATALOGUE)[number] | undefined) {
  if (!fields) throw new Error("not in the catalogue");
  const { credential_check, port: _port, path: _path, tools, oauth, ...rest } = fields;
  return {
    ...rest,
    ...(tools ? { tools } : {}),
    ...(credential_check ? { check: credential_check } : {}),
    ...(oauth ? { oauth } : {}),
  };
}

describe.each(["pglite", "postgres"] as const)("first-run setup racing on %s", (kind) => {
  let t: TestDb;
  beforeAll(async () => {
    t = await openTestDb(kind);
  });
  afterAll(async () => {
    await t?.drop();
  });

  it("makes one account and one operator however many race for it", async () => {
    const attempts = await Promise.allSettled(
      [1, 2, 3].map((n) =>
        createFirstAccount(t, { name: `First ${n}`, ownerEmail: `first-${n}@example.com`, ownerPasswordHash: "h" }),
      ),
    );
    expect(attempts.filter((a) => a.status === "fulfilled")).toHaveLength(1);
    for (const a of attempts.filter((a) => a.status === "rejected"))
      expect((a as PromiseRejectedResult).reason).toMatchObject({ code: "conflict" });
    const counts = await t.db.query<{ users: number; operators: number; accounts: number }>(
      `select (select count(*)::int from users) as users, (select count(*)::int from users where operator) as operators,
              (select count(*)::int from accounts) as accounts`,
    );
    expect(counts[0]).toEqual({ users: 1, operators: 1, accounts: 1 });
  });
});
