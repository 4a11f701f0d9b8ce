import type { Ctx } from "@/lib/core/context";
import { BerthError } from "@/lib/core/errors";
import type { InstallInput } from "@/lib/core/schemas/connection";
import { getAccount } from "@/lib/db/queries/accounts";
import { type ConnectionRow, getConnectionByIdempotencyKey, insertConnection } from "@/lib/db/queries/connections";
import { addConnectionEvent } from "@/lib/db/queries/events";
import { assertOwnAccount, getServerOrThrow, requireAdmin } from "../scope";
import { assertSandboxCapacity, takeSandboxStart } from "./capacity";
import { serverEnvOf, validateCredentials, withoutOAuthFilled } from "./credentials";
import { deployWithin } from "./deploy";
import { recordAuthRequired, recordDeploying } from "./status";
import { assertOAuthReady } from "./upstream-oauth";

/**
 * Stores the connection as `deploying` with its credentials encrypted, then deploys it; one that
 * connects through upstream OAuth is stored `auth_required`, and deploys once authorized.
 * Answers once it runs or failed, or after `installWaitMs` while still deploying. With an
 * `idempotencyKey`, an install sent again answers the live connection the first one made.
 */
export async function installConnection(
  ctx: Ctx,
  input: Omit<InstallInput, "dry_run">,
  { idempotencyKey }: { idempotencyKey?: string } = {},
) {
  requireAdmin(ctx);
  assertOwnAccount(ctx, input.account_id);
  const server = await getServerOrThrow(ctx, input.server_id);
  const earlier = async () =>
    idempotencyKey
      ? await getConnectionByIdempotencyKey(ctx.db, { accountId: ctx.accountId, key: idempotencyKey })
      : undefined;
  const viaOAuth = input.auth === "oauth";
  if (viaOAuth) assertOAuthReady(ctx, server);
  const env = validateCredentials(viaOAuth ? withoutOAuthFilled(server) : server, input.credentials);
  const replayed = await earlier();
  if (replayed)
    return sameInstall(ctx, replayed, { ...input, server_id: server.id }, env, Object.keys(server.oauth?.env ?? {}));
  if (!viaOAuth) takeSandboxStart(ctx); // its start is counted once authorized
  const id = crypto.randomUUID();
  // The install's own timeout, else the account's default (settings), else the server's.
  const account = input.timeout === undefined ? await getAccount(ctx.db, { accountId: ctx.accountId }) : undefined;
  const timeoutSeconds = input.timeout ?? account?.default_timeout ?? server.default_timeout;
  const { keyId, ciphertext } = await ctx.cipher.encrypt(env, id);

  let conn: ConnectionRow | undefined;
  try {
    conn = await ctx.db.transaction(async (tx) => {
      await assertSandboxCapacity(ctx, tx);
      const row = await insertConnection(tx, {
        id,
        accountId: ctx.accountId,
        serverId: server.id,
        name: input.name ?? server.title,
        provider: ctx.runtime.provider,
        credentialsCiphertext: ciphertext,
        credentialsKeyId: keyId,
        keepAlive: input.keep_alive,
        timeoutSeconds,
        expiresAt: new Date(ctx.now() + timeoutSeconds * 1000),
        host: ctx.host,
        idempotencyKey,
        status: viaOAuth ? "auth_required" : "deploying",
      });
      const data = {
        server: server.slug,
        version: server.version,
        timeout: timeoutSeconds,
        keep_alive: input.keep_alive,
      };
      await addConnectionEvent(tx, { accountId: ctx.accountId, connectionId: id, type: "installed", data });
      const key = { accountId: ctx.accountId, id };
      if (viaOAuth) {
        const error = `Not connected to ${server.oauth?.provider} yet.`;
        await recordAuthRequired(tx, key, { error, by: ctx.actor.kind });
      } else await recordDeploying(tx, key, { reason: "installed", by: ctx.actor.kind });
      return row;
    });
  } catch (err) {
    // The same key sent twice at once: the other install stored its connection first.
    const first = (err as { code?: string }).code === UNIQUE_VIOLATION ? await earlier() : undefined;
    if (!first) throw err;
    return sameInstall(ctx, first, { ...input, server_id: server.id }, env, Object.keys(server.oauth?.env ?? {}));
  }
  if (!conn) throw new BerthError("internal_error", "The connection could not be stored.");
  return viaOAuth ? conn : deployWithin(ctx, conn, ctx.installWaitMs);
}

const UNIQUE_VIOLATION = "23505";

/**
 * The connection an earlier install with the same key made, if that install asked for the same:
 * the same server and credentials, and the name, timeout and keep-alive it gave. A retry that
 * changed any of them (new credentials, say) would otherwise be told it was stored: 409.
 */
async function sameInstall(
  ctx: Ctx,
  conn: ConnectionRow,
  input: Omit<InstallInput, "dry_run">,
  env: Record<string, string>,
  oauthFilled: string[],
): Promise<ConnectionRow> {
  const conflict = (what: string) =>
    new BerthError(
      "conflict",
      `This Idempotency-Key already installed ${what} (connection ${conn.id}); send a new key.`,
    );
  if (conn.server_id !== input.server_id) throw conflict("another server");
  const stored = await ctx.cipher.decrypt(
    { keyId: conn.credentials_key_id, ciphertext: conn.credentials_ciphertext },
    conn.id,
  );
  // Once authorized, what the token answer filled is stored too: the install gave only the others.
  const filled = new Set(input.auth === "oauth" ? oauthFilled : []);
  const given = Object.fromEntries(Object.entries(serverEnvOf(stored)).filter(([k]) => !filled.has(k)));
  const differs =
    !sameEntries(given, env) ||
    (input.name !== undefined && input.name !== conn.name) ||
    (input.timeout !== undefined && input.timeout !== conn.timeout_seconds) ||
    input.keep_alive !== conn.keep_alive;
  if (differs) throw conflict("a connection with other settings or credentials");
  return conn;
}

function sameEntries(a: Record<string, string>, b: Record<string, string>) {
  const keys = Object.keys(a);
  return keys.length === Object.keys(b).length && keys.every((k) => Object.hasOwn(b, k) && a[k] === b[k]);
}
