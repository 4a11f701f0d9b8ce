import type { Db } from "@/lib/db/db";
import { insertConnection } from "@/lib/db/queries/connections";

/** A connection row as install stores one (deploying, a minute to live), for tests of the data and its services. */
export function insertTestConnection(
  db: Db,
  row: { accountId: string; serverId: string } & Partial<Parameters<typeof insertConnection>[1]>,
) {
  return insertConnection(db, {
    id: crypto.randomUUID(),
    name: "test",
    provider: "local",
    credentialsCiphertext: "x",
    credentialsKeyId: "k1",
    keepAlive: true,
    timeoutSeconds: 60,
    expiresAt: new Date(Date.now() + 60_000),
    host: "test",
    ...row,
  });
}
