import {
  authorizationUrl,
  exchangeCode,
  newCodeVerifier,
  newState,
  refresh,
  type TokenAnswer,
  UpstreamOAuthError,
} from "@/lib/auth/upstream-oauth";
import type { Ctx, Deps } from "@/lib/core/context";
import { envValueProblem } from "@/lib/core/env-names";
import { BerthError } from "@/lib/core/errors";
import type { UpstreamOAuth } from "@/lib/core/schemas/upstream-oauth";
import { sha256Hex } from "@/lib/crypto/api-keys";
import { type ConnectionRow, type ConnectionStatus, updateConnection } from "@/lib/db/queries/connections";
import { addConnectionEvent } from "@/lib/db/queries/events";
import { getServer, type ServerRow } from "@/lib/db/queries/servers";
import { claimDueRefreshes, insertUpstreamFlow, takeUpstreamFlow } from "@/lib/db/queries/upstream-oauth";
import { getServerOrThrow, requireAdmin } from "../scope";
import { assertSandboxCapacity, takeSandboxStart } from "./capacity";
import { refreshTokenOf, serverEnvOf, withRefreshToken } from "./credentials";
import { deployWithin } from "./deploy";
import { getConnectionOrThrow } from "./get";
import { restartConnection } from "./restart";
import { markAuthRequired, markDeploying } from "./status";

/**
 * "Connect with GitHub": a connection's server gets its token through the OAuth provider its
 * definition declares, and Berth keeps it fresh. The flow: `startAuthorization` stores the state
 * and PKCE verifier and answers the provider's URL; the provider sends the browser back to
 * `completeAuthorization`, which stores the token answer's values in the connection's encrypted
 * credentials and deploys it. Maintenance refreshes tokens before they expire
 * (`refreshDueTokens`), restarting a running server, which reads its token only at start; a
 * refused refresh makes the connection `auth_required` at once, with its server stopped, rather
 * than leaving agents to meet the failure at their next tool call.
 */

const FLOW_SECONDS = 600;
/** Refresh this long before the access token expires (or half its lifetime, if shorter). */
const REFRESH_MARGIN_SECONDS = 300;
/** Live statuses whose token is kept fresh; `deploying` waits for its outcome. */
const REFRESHED: ConnectionStatus[] = ["running", "failed", "expired"];
/** As long as a pasted credential may be (tokens are a few hundred characters). */
const MAX_VALUE_CHARS = 4096;

/** Where providers send the browser back: a dashboard page, so that only a signed-in admin of the account completes it. */
export const upstreamRedirectUri = (publicUrl: string) => `${publicUrl}/oauth/upstream/callback`;

type Upstream = { decl: UpstreamOAuth; client: { clientId: string; clientSecret?: string } };

function upstreamOf(ctx: Pick<Deps, "upstreamOAuthClients">, server: ServerRow): Upstream | undefined {
  const client = ctx.upstreamOAuthClients?.[server.slug];
  return server.oauth && client ? { decl: server.oauth, client } : undefined;
}

/** An install or authorization through OAuth needs the declaration and Berth's client at the provider. */
export function assertOAuthReady(ctx: Pick<Deps, "upstreamOAuthClients">, server: ServerRow): Upstream {
  if (!server.oauth)
    throw new BerthError("bad_request", `${server.title} does not connect through OAuth; paste its credentials.`);
  const upstream = upstreamOf(ctx, server);
  if (!upstream) {
    const key = server.slug.toUpperCase().replaceAll("-", "_");
    throw new BerthError(
      "conflict",
      `This Berth has no OAuth app at ${server.oauth.provider} yet: its operator sets BERTH_OAUTH_${key}_CLIENT_ID ` +
        `(and _CLIENT_SECRET), registered with the redirect URL ${upstreamRedirectUri("<public URL>")}. Paste the credentials instead.`,
    );
  }
  return upstream;
}

/** Starts an authorization: the URL to open, at the provider, valid ten minutes. */
export async function startAuthorization(ctx: Ctx, id: string, input: { return_to?: string }) {
  requireAdmin(ctx);
  const conn = await getConnectionOrThrow(ctx, id);
  if (conn.status === "deploying") {
    throw new BerthError("conflict", "The connection is deploying; connect it again once it has started or failed.");
  }
  const server = await getServerOrThrow(ctx, conn.server_id, { includeRemoved: true });
  const { decl, client } = assertOAuthReady(ctx, server);
  const state = newState();
  const codeVerifier = newCodeVerifier();
  const expiresAt = new Date(ctx.now() + FLOW_SECONDS * 1000);
  await insertUpstreamFlow(ctx.db, {
    state_hash: await sha256Hex(state),
    account_id: ctx.accountId,
    connection_id: id,
    code_verifier: codeVerifier,
    return_to: input.return_to ?? `/dashboard/connections/${id}`,
    expires_at: expiresAt,
  });
  const url = await authorizationUrl(decl, client, {
    redirectUri: upstreamRedirectUri(ctx.publicUrl),
    state,
    codeVerifier,
  });
  return { authorization_url: url, expires_at: expiresAt.toISOString() };
}

/**
 * The provider sent the browser back, to a signed-in owner or admin of the account that started
 * the flow (`ctx`): exchanges the code, stores the token answer's values and deploys the
 * connection with them (a running one is restarted with them). Whoever else comes back with the
 * provider's answer (a link sent to someone, another account's admin) completes nothing: the
 * browser that finishes must be signed in to the account, so nobody's provider account can be
 * attached to a connection by following someone else's link. Answers where to send the browser:
 * the flow's `return_to`, with `oauth_error` when it did not work. The state is single-use.
 */
export async function completeAuthorization(ctx: Ctx, callback: URLSearchParams): Promise<{ location: string }> {
  const failed = (where: string, error: string) => ({
    location: `${where}${where.includes("?") ? "&" : "?"}oauth_error=${encodeURIComponent(error)}`,
  });
  if (ctx.role === "member") return failed("/dashboard", "Only an owner or admin of the account can connect it.");
  const state = callback.get("state");
  const flow = state
    ? await takeUpstreamFlow(ctx.db, { stateHash: await sha256Hex(state), accountId: ctx.accountId })
    : undefined;
  if (!state || !flow) {
    return failed("/dashboard", "This sign-in has expired, was used, or was started in another account.");
  }
  try {
    const conn = await getConnectionOrThrow(ctx, flow.connection_id);
    // A deploy under way would start the server with the token it read before.
    if (conn.status === "deploying") {
      throw new BerthError("conflict", "The connection is deploying; connect it again once it has started or failed.");
    }
    const server = await getServerOrThrow(ctx, conn.server_id, { includeRemoved: true });
    const { decl, client } = assertOAuthReady(ctx, server);
    // The sandbox this starts counts as the account's, as any install or restart does.
    await assertSandboxCapacity(ctx, ctx.db, conn.id);
    takeSandboxStart(ctx);
    const answer = await exchangeCode(decl, client, {
      callback,
      state,
      redirectUri: upstreamRedirectUri(ctx.publicUrl),
      codeVerifier: flow.code_verifier,
    });
    const stored = await storeTokens(ctx, conn, decl, answer, valuesOf(decl, answer), "authorized");
    if (stored.status === "auth_required") {
      const claimed = await ctx.db.transaction(async (tx) => {
        await assertSandboxCapacity(ctx, tx, conn.id);
        return markDeploying(
          tx,
          { accountId: ctx.accountId, id: conn.id },
          {
            from: ["auth_required"],
            reason: "authorized",
            by: ctx.actor.kind,
            changes: {
              last_error: null,
              host: ctx.host,
              expires_at: new Date(ctx.now() + conn.timeout_seconds * 1000),
            },
          },
        );
      });
      if (claimed) await deployWithin(ctx, claimed, ctx.installWaitMs);
    } else {
      // Connected again while it ran (or had stopped): it starts again with the new token.
      await restartConnection(ctx, conn.id, "credentials_updated", { startTaken: true });
    }
    return { location: flow.return_to };
  } catch (err) {
    if (err instanceof UpstreamOAuthError || err instanceof BerthError) return failed(flow.return_to, err.message);
    ctx.log.error({ err, connectionId: flow.connection_id }, "upstream authorization failed");
    return failed(flow.return_to, "The authorization could not be completed.");
  }
}

/**
 * Puts the token answer into the connection's credentials (the values `oauth.env` names, over the
 * ones stored) with its refresh token, and when to refresh next; records `event`. The refresh
 * token is kept when the provider sends no new one (it does not rotate them).
 */
async function storeTokens(
  ctx: Ctx,
  conn: ConnectionRow,
  decl: UpstreamOAuth,
  answer: TokenAnswer,
  values: Record<string, string>,
  event: "authorized" | "token_refreshed",
): Promise<ConnectionRow> {
  const stored = await ctx.cipher.decrypt(
    { keyId: conn.credentials_key_id, ciphertext: conn.credentials_ciphertext },
    conn.id,
  );
  const env = { ...serverEnvOf(stored), ...values };
  const refreshToken = answer.refreshToken ?? (event === "token_refreshed" ? refreshTokenOf(stored) : undefined);
  const { keyId, ciphertext } = await ctx.cipher.encrypt(withRefreshToken(env, refreshToken), conn.id);
  const expiresAt = answer.expiresAt ?? null;
  const row = await ctx.db.transaction(async (tx) => {
    const updated = await updateConnection(
      tx,
      { accountId: ctx.accountId, id: conn.id, fromStatus: [conn.status] },
      {
        credentials_ciphertext: ciphertext,
        credentials_key_id: keyId,
        oauth_expires_at: expiresAt,
        oauth_refresh_at: expiresAt && refreshAt(ctx, expiresAt, Boolean(decl.refresh && refreshToken)),
      },
    );
    if (updated) {
      const data = {
        provider: decl.provider,
        expires_at: expiresAt?.toISOString() ?? null,
        refreshable: Boolean(decl.refresh && refreshToken),
        by: ctx.actor.kind,
      };
      await addConnectionEvent(tx, { accountId: ctx.accountId, connectionId: conn.id, type: event, data });
    }
    return updated;
  });
  if (!row)
    throw new BerthError("conflict", "The connection changed meanwhile (deleted or deploying); connect it again.");
  return row;
}

/**
 * A refreshable token is refreshed a little before it expires, but never sooner than the floor
 * after the last (`upstreamOAuthRefreshFloorMs`): each refresh restarts the server, and a provider
 * handing out tokens that live a second must not restart it without end. One that is not
 * refreshable is looked at when it expires.
 */
function refreshAt(ctx: Ctx, expiresAt: Date, refreshable: boolean) {
  if (!refreshable) return expiresAt;
  const now = ctx.now();
  const margin = Math.min(REFRESH_MARGIN_SECONDS * 1000, (expiresAt.getTime() - now) / 2);
  return new Date(Math.max(expiresAt.getTime() - margin, now + (ctx.upstreamOAuthRefreshFloorMs ?? 60_000)));
}

/**
 * The environment values the definition takes from the token answer, each checked as a credential
 * is; `partial`: the ones the answer leaves out are left out (else it is refused).
 */
function valuesOf(decl: UpstreamOAuth, answer: TokenAnswer, { partial = false } = {}): Record<string, string> {
  const values: Record<string, string> = {};
  for (const [name, path] of Object.entries(decl.env)) {
    let value: unknown = answer.body;
    for (const part of path.split("."))
      value = value && typeof value === "object" ? (value as Record<string, unknown>)[part] : undefined;
    if (value === undefined && partial) continue;
    if (typeof value !== "string" && typeof value !== "number")
      throw new UpstreamOAuthError(`The provider's answer has no ${path} for ${name}.`, false);
    if (String(value).length > MAX_VALUE_CHARS)
      throw new UpstreamOAuthError(`The provider's ${path} is longer than ${MAX_VALUE_CHARS} characters.`, false);
    const problem = envValueProblem(String(value));
    if (problem) throw new UpstreamOAuthError(`The provider's ${path} cannot be passed as ${name}: ${problem}`, false);
    values[name] = String(value);
  }
  return values;
}

/**
 * One maintenance step: the tokens due are refreshed, each claimed by one instance. A running
 * server is restarted with its new token; a refusal makes the connection `auth_required` (its
 * server stopped); a provider that cannot be reached is tried again a minute later, until the
 * token has expired.
 */
export async function refreshDueTokens(deps: Deps, systemCtx: (accountId: string) => Ctx) {
  const due = await claimDueRefreshes(deps.db);
  let refreshed = 0;
  for (const row of due) {
    const ctx = systemCtx(row.account_id);
    try {
      if (await refreshToken(ctx, row.id)) refreshed++;
    } catch (err) {
      deps.log.error({ err, connectionId: row.id }, "upstream token refresh failed");
    }
  }
  return refreshed;
}

async function refreshToken(ctx: Ctx, id: string): Promise<boolean> {
  const conn = await getConnectionOrThrow(ctx, id);
  if (!REFRESHED.includes(conn.status)) return false;
  const server = await getServer(ctx.db, { idOrSlug: conn.server_id, includeRemoved: true });
  const upstream = server && upstreamOf(ctx, server);
  const expired = conn.oauth_expires_at !== null && new Date(conn.oauth_expires_at).getTime() <= ctx.now();
  const stored = await ctx.cipher.decrypt(
    { keyId: conn.credentials_key_id, ciphertext: conn.credentials_ciphertext },
    conn.id,
  );
  const token = refreshTokenOf(stored);
  if (!upstream?.decl.refresh || !token) {
    if (expired) {
      const provider = server?.oauth?.provider ?? "the provider";
      await requireAuth(ctx, conn, `The ${provider} token expired and cannot be refreshed; connect again.`);
    } else await retryRefreshBy(ctx, conn, conn.oauth_expires_at);
    return false;
  }
  let answer: TokenAnswer;
  let values: Record<string, string>;
  try {
    answer = await refresh(upstream.decl, upstream.client, token);
    // A refresh answer may leave out what does not change (Slack's team.id): those values are kept.
    values = valuesOf(upstream.decl, answer, { partial: true });
  } catch (err) {
    if (!(err instanceof UpstreamOAuthError)) throw err;
    // Unreachable for now: tried again in a minute, or when it expires if sooner; then for the last time.
    if (err.transient && !expired) {
      const expiry = new Date(conn.oauth_expires_at as Date).getTime();
      await retryRefreshBy(ctx, conn, new Date(Math.min(ctx.now() + 60_000, expiry)));
      return false;
    }
    await requireAuth(ctx, conn, `Refreshing the ${upstream.decl.provider} token failed: ${err.message}`);
    return false;
  }
  const row = await storeTokens(ctx, conn, upstream.decl, answer, values, "token_refreshed");
  // Not awaited: the old server is drained first (up to half a minute), and the sweep goes on.
  if (row.status === "running")
    void restartConnection(ctx, id, "token_refreshed", { startTaken: true }).catch((err) =>
      ctx.log.error({ err, connectionId: id }, "restart with a refreshed token failed"),
    );
  return true;
}

/** Looked at again at `when` (a token that cannot be refreshed: when it expires). */
async function retryRefreshBy(ctx: Ctx, conn: ConnectionRow, when: Date | null) {
  await updateConnection(
    ctx.db,
    { accountId: ctx.accountId, id: conn.id, fromStatus: REFRESHED },
    { oauth_refresh_at: when },
  );
}

async function requireAuth(ctx: Ctx, conn: ConnectionRow, error: string) {
  const row = await ctx.db.transaction((tx) =>
    markAuthRequired(tx, { accountId: ctx.accountId, id: conn.id }, { from: REFRESHED, error, by: ctx.actor.kind }),
  );
  if (row && conn.sandbox_id) await ctx.runtime.stop(conn.id, conn.sandbox_id).catch(() => {});
}
