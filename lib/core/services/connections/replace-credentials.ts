import type { Ctx } from "@/lib/core/context";
import { BerthError } from "@/lib/core/errors";
import type { CredentialsInput } from "@/lib/core/schemas/connection";
import { updateConnection } from "@/lib/db/queries/connections";
import { addConnectionEvent } from "@/lib/db/queries/events";
import { getServerOrThrow, requireAdmin } from "../scope";
import { takeSandboxStart } from "./capacity";
import { validateCredentials } from "./credentials";
import { getConnectionOrThrow } from "./get";
import { restartConnection } from "./restart";

/** Stores new credentials (encrypted) and redeploys so the server runs with them. */
export async function replaceCredentials(ctx: Ctx, id: string, input: CredentialsInput) {
  requireAdmin(ctx);
  const conn = await getConnectionOrThrow(ctx, id);
  // A deploy under way would start the server with the credentials it read before.
  if (conn.status === "deploying") {
    throw new BerthError(
      "conflict",
      "The connection is deploying; replace its credentials once it has started or failed.",
    );
  }
  const server = await getServerOrThrow(ctx, conn.server_id, { includeRemoved: true });
  const env = validateCredentials(server, input.credentials);
  takeSandboxStart(ctx); // before storing: refused, the connection keeps running with the old ones
  const { keyId, ciphertext } = await ctx.cipher.encrypt(env, id);
  const stored = await ctx.db.transaction(async (tx) => {
    const row = await updateConnection(
      tx,
      { accountId: ctx.accountId, id },
      // Pasted credentials replace an OAuth authorization: nothing is refreshed any more.
      { credentials_ciphertext: ciphertext, credentials_key_id: keyId, oauth_expires_at: null, oauth_refresh_at: null },
    );
    if (row) {
      const data = { fields: Object.keys(env).sort(), by: ctx.actor.kind };
      await addConnectionEvent(tx, { accountId: ctx.accountId, connectionId: id, type: "credentials_updated", data });
    }
    return row;
  });
  if (!stored) throw new BerthError("not_found", "No such connection.");
  return restartConnection(ctx, id, "credentials_updated", { startTaken: true });
}
