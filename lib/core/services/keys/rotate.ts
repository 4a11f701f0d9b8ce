import type { Deps } from "@/lib/core/context";
import {
  countCredentialsByKey,
  listCredentialsUnderOtherKeys,
  replaceCiphertextIfUnchanged,
} from "@/lib/db/queries/connections";

const BATCH = 100;
const FIRST_ID = "00000000-0000-0000-0000-000000000000";

/**
 * Re-encrypts every connection's credentials (all accounts, deleted connections too) under the
 * cipher's current key, so the keys after it in BERTH_ENCRYPTION_KEYS can then be removed. Each
 * row is its own update, guarded by the ciphertext it read: a run stopped half-way loses nothing,
 * running it again finishes the rest, and a credential change made meanwhile wins. A row whose key
 * is not configured (or whose ciphertext does not decrypt) is reported, not fatal.
 */
export async function rotateCredentials(deps: Pick<Deps, "db" | "cipher">) {
  const keyId = deps.cipher.currentKeyId;
  let rotated = 0;
  let changedMeanwhile = 0;
  const failed: { connection_id: string; key_id: string; error: string }[] = [];
  let afterId = FIRST_ID;
  for (;;) {
    const batch = await listCredentialsUnderOtherKeys(deps.db, { keyId, afterId, limit: BATCH });
    for (const row of batch) {
      const from = { keyId: row.credentials_key_id, ciphertext: row.credentials_ciphertext };
      try {
        const to = await deps.cipher.encrypt(await deps.cipher.decrypt(from, row.id), row.id);
        if (await replaceCiphertextIfUnchanged(deps.db, { id: row.id, from, to })) rotated++;
        else changedMeanwhile++;
      } catch (err) {
        const error = err instanceof Error && err.message ? err.message : "the ciphertext does not decrypt";
        failed.push({ connection_id: row.id, key_id: from.keyId, error });
      }
    }
    if (batch.length < BATCH) break;
    afterId = (batch.at(-1) as { id: string }).id;
  }
  const byKey = Object.fromEntries((await countCredentialsByKey(deps.db)).map((r) => [r.key_id, r.n]));
  return { key_id: keyId, rotated, changed_meanwhile: changedMeanwhile, failed, by_key: byKey };
}
