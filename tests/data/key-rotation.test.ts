import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { seedCatalogue } from "@/lib/catalogue/seed";
import { markDeleted } from "@/lib/core/services/connections/status";
import { rotateCredentials } from "@/lib/core/services/keys/rotate";
import { type CredentialsCipher, createCredentialsCipher } from "@/lib/crypto/credentials-cipher";
import { insertAccount } from "@/lib/db/queries/accounts";
import { replaceCiphertextIfUnchanged, updateConnection } from "@/lib/db/queries/connections";
import { getServer } from "@/lib/db/queries/servers";
import { insertTestConnection } from "../support/connections";
import { openTestDb, type TestDb } from "../support/databases";

const key = (id: string) => ({ id, raw: crypto.getRandomValues(new Uint8Array(32)) });

/**
 * `npx berth keys rotate`: every connection's credentials (all accounts, deleted ones too)
 * re-encrypted under the first key, after which the old key can go. PGlite and PostgreSQL.
 */
describe.each(["pglite", "postgres"] as const)("rotating the credentials key on %s", (kind) => {
  let t: TestDb;
  const old = key("old");
  const next = key("new");
  let before: CredentialsCipher;
  let during: CredentialsCipher; // new first, old still configured
  let after: CredentialsCipher; // the old key removed
  const secrets = new Map<string, Record<string, string>>();
  let accountId: string;
  let serverId: string;

  async function connectionUnder(cipher: CredentialsCipher, status: "running" | "deleted" = "running") {
    const id = crypto.randomUUID();
    const credentials = { TOKEN: `secret-${id}` };
    const { keyId, ciphertext } = await cipher.encrypt(credentials, id);
    await insertTestConnection(t.db, {
      id,
      accountId,
      serverId,
      name: id,
      credentialsCiphertext: ciphertext,
      credentialsKeyId: keyId,
    });
    if (status === "deleted") await markDeleted(t.db, { accountId, id }, { by: "system" });
    secrets.set(id, credentials);
    return id;
  }
  const stored = (id: string) =>
    t.db
      .query<{ key_id: string; ciphertext: string }>(
        "select credentials_key_id as key_id, credentials_ciphertext as ciphertext from mcp_connections where id = $1",
        [id],
      )
      .then((rows) => rows[0] as { key_id: string; ciphertext: string });

  beforeAll(async () => {
    t = await openTestDb(kind);
    await seedCatalogue(t.db);
    [before, during, after] = await Promise.all([
      createCredentialsCipher([old]),
      createCredentialsCipher([next, old]),
      createCredentialsCipher([next]),
    ]);
    accountId = (await insertAccount(t.db, { name: "Rotating" })).id;
    serverId = (await getServer(t.db, { idOrSlug: "memory" }))?.id as string;
  });
  afterAll(async () => {
    await t?.drop();
  });

  it("re-encrypts every row under the first key, then the old key can go; a second run has nothing to do", async () => {
    // More than one batch (100), one of them deleted.
    const ids = [];
    for (let i = 0; i < 130; i++) ids.push(await connectionUnder(before, i === 7 ? "deleted" : "running"));
    const alreadyNew = await connectionUnder(during);

    const first = await rotateCredentials({ db: t.db, cipher: during });
    expect(first).toEqual({ key_id: "new", rotated: 130, changed_meanwhile: 0, failed: [], by_key: { new: 131 } });
    for (const id of [...ids, alreadyNew]) {
      const row = await stored(id);
      expect(row.key_id).toBe("new");
      expect(await after.decrypt({ keyId: row.key_id, ciphertext: row.ciphertext }, id)).toEqual(secrets.get(id));
    }
    expect(await rotateCredentials({ db: t.db, cipher: during })).toMatchObject({ rotated: 0, failed: [] });
  });

  it("reports a row under a key it does not have, and leaves it as it was", async () => {
    const orphanKey = await createCredentialsCipher([key("lost")]);
    const id = await connectionUnder(orphanKey);
    const was = await stored(id);
    const result = await rotateCredentials({ db: t.db, cipher: during });
    expect(result.rotated).toBe(0);
    expect(result.failed).toEqual([
      {
        connection_id: id,
        key_id: "lost",
        error: 'credentials were encrypted with key "lost", which is not configured',
      },
    ]);
    expect(result.by_key).toMatchObject({ lost: 1 });
    expect(await stored(id)).toEqual(was);
  });

  it("never overwrites credentials changed since they were read", async () => {
    const id = await connectionUnder(before);
    const read = await stored(id);
    // Credentials replaced meanwhile (by an instance still on the old key).
    const replaced = await before.encrypt({ TOKEN: "replaced" }, id);
    await updateConnection(t.db, { accountId, id }, { credentials_ciphertext: replaced.ciphertext });
    const rotatedCopy = await during.encrypt(secrets.get(id) as Record<string, string>, id);
    const wrote = await replaceCiphertextIfUnchanged(t.db, {
      id,
      from: { keyId: read.key_id, ciphertext: read.ciphertext },
      to: rotatedCopy,
    });
    expect(wrote).toBe(false);
    expect((await stored(id)).ciphertext).toBe(replaced.ciphertext);
    // The next run rotates what is there now.
    await rotateCredentials({ db: t.db, cipher: during });
    const now = await stored(id);
    expect(await after.decrypt({ keyId: now.key_id, ciphertext: now.ciphertext }, id)).toEqual({ TOKEN: "replaced" });
  });
});
