import { createHash, randomBytes, randomUUID } from "node:crypto";
import type { OAuthRegisteredClientsStore } from "@modelcontextprotocol/sdk/server/auth/clients.js";
import {
  InvalidClientMetadataError,
  InvalidGrantError,
  InvalidTargetError,
  InvalidTokenError,
} from "@modelcontextprotocol/sdk/server/auth/errors.js";
import type { AuthorizationParams, OAuthServerProvider } from "@modelcontextprotocol/sdk/server/auth/provider.js";
import type { AuthInfo } from "@modelcontextprotocol/sdk/server/auth/types.js";
import type {
  OAuthClientInformationFull,
  OAuthTokenRevocationRequest,
  OAuthTokens,
} from "@modelcontextprotocol/sdk/shared/auth.js";
import type { Response } from "express";
import type { Db } from "@/lib/db/db";
import { isUuid } from "@/lib/db/ids";
import {
  getOAuthClient,
  getOAuthCode,
  getOAuthToken,
  insertOAuthClient,
  insertOAuthCode,
  insertOAuthRequest,
  insertOAuthToken,
  type OAuthCodeRow,
  revokeOAuthFamily,
  spendOAuthCode,
  spendRefreshToken,
  takeOAuthRequest,
} from "@/lib/db/queries/oauth";

/** Access tokens are short-lived: a revoked grant or a removed member is refused within this at most (at once on this database). */
const ACCESS_TOKEN_SECONDS = 3600;
const REFRESH_TOKEN_SECONDS = 30 * 24 * 3600;
const CODE_SECONDS = 60;
const REQUEST_SECONDS = 600;

export const ACCESS_TOKEN_PREFIX = "berth_at_";
const REFRESH_TOKEN_PREFIX = "berth_rt_";

export const hashToken = (token: string) => createHash("sha256").update(token).digest("base64url");
const newToken = (prefix: string) => `${prefix}${randomBytes(32).toString("base64url")}`;

/** Characters that make a name read as another on the consent page. */
const DECEIVING = /[\p{Cc}\p{Cf}]/u; // control characters; format ones: bidi overrides, zero-width, BOM
const LOOPBACK = new Set(["localhost", "127.0.0.1", "[::1]"]);

/**
 * What Berth asks of a registration beyond the SDK's schema: a name the consent page can show as
 * it reads (at most 100 characters, no bidi or invisible characters), and redirect URIs OAuth 2.1
 * allows: https, or http on a loopback address (native clients), never with a fragment.
 */
function checkRegistration(client: OAuthClientInformationFull) {
  const name = client.client_name ?? "";
  if (name.length > 100 || DECEIVING.test(name))
    throw new InvalidClientMetadataError(
      "client_name: at most 100 characters, without control, bidi or invisible ones.",
    );
  for (const uri of client.redirect_uris) {
    const u = new URL(uri);
    const allowed = u.protocol === "https:" || (u.protocol === "http:" && LOOPBACK.has(u.hostname));
    if (!allowed || u.hash || uri.includes("#"))
      throw new InvalidClientMetadataError(
        "redirect_uris: https URLs, or http on localhost, 127.0.0.1 or [::1]; no fragment.",
      );
  }
}

/** The connection an MCP endpoint URL of this Berth names (RFC 8707's `resource`), if it names one. */
export function connectionOfResource(publicUrl: string, resource: string | URL | undefined): string | undefined {
  if (!resource) return undefined;
  const prefix = `${publicUrl.replace(/\/$/, "")}/api/mcp/`;
  const href = String(resource);
  const id = href.startsWith(prefix) ? href.slice(prefix.length) : "";
  return isUuid(id) ? id : undefined;
}

/**
 * Berth as the OAuth 2.1 authorization server of its MCP endpoints, behind the MCP SDK's handlers
 * (metadata, dynamic registration, PKCE S256, the token endpoint's errors). A grant is one user's
 * consent for one client on one connection: its tokens are bound to that connection's URL
 * (RFC 8707) and refresh tokens rotate, a used one presented again revoking the whole grant.
 */
export class BerthOAuthProvider implements OAuthServerProvider {
  constructor(
    private readonly db: Db,
    private readonly publicUrl: string,
  ) {}

  get clientsStore(): OAuthRegisteredClientsStore {
    return {
      getClient: async (clientId) =>
        (await getOAuthClient(this.db, clientId)) as OAuthClientInformationFull | undefined,
      registerClient: async (client) => {
        const full = client as OAuthClientInformationFull;
        checkRegistration(full);
        await insertOAuthClient(this.db, full.client_id, full);
        return full;
      },
    };
  }

  /** Sends the browser to the consent page, where a signed-in member of the connection's account answers. */
  async authorize(client: OAuthClientInformationFull, params: AuthorizationParams, res: Response) {
    const connectionId = connectionOfResource(this.publicUrl, params.resource);
    if (!connectionId) {
      const back = new URL(params.redirectUri);
      back.searchParams.set("error", "invalid_target");
      back.searchParams.set("error_description", "Name the connection's MCP endpoint URL as `resource`.");
      if (params.state) back.searchParams.set("state", params.state);
      return res.redirect(302, back.href);
    }
    const { id } = await insertOAuthRequest(this.db, {
      client_id: client.client_id,
      redirect_uri: params.redirectUri,
      code_challenge: params.codeChallenge,
      state: params.state ?? null,
      scopes: (params.scopes ?? []).join(" "),
      connection_id: connectionId,
      resource: String(params.resource),
      expires_at: new Date(Date.now() + REQUEST_SECONDS * 1000),
    });
    res.redirect(302, `/oauth/consent?request=${id}`);
  }

  async challengeForAuthorizationCode(client: OAuthClientInformationFull, code: string) {
    const row = await getOAuthCode(this.db, hashToken(code));
    if (!row || row.client_id !== client.client_id) throw new InvalidGrantError("Unknown authorization code.");
    return row.code_challenge;
  }

  async exchangeAuthorizationCode(
    client: OAuthClientInformationFull,
    code: string,
    _verifier?: string,
    redirectUri?: string,
    resource?: URL,
  ): Promise<OAuthTokens> {
    const row = await spendOAuthCode(this.db, hashToken(code));
    if (!row || row.client_id !== client.client_id)
      throw new InvalidGrantError("The code is unknown, used or expired.");
    if (redirectUri !== undefined && redirectUri !== row.redirect_uri)
      throw new InvalidGrantError("redirect_uri differs from the authorization request's.");
    if (resource && String(resource) !== row.resource)
      throw new InvalidTargetError("The code is for another resource.");
    return this.issue(row, randomUUID());
  }

  async exchangeRefreshToken(
    client: OAuthClientInformationFull,
    refreshToken: string,
    _scopes?: string[],
    resource?: URL,
  ): Promise<OAuthTokens> {
    const hash = hashToken(refreshToken);
    const row = await spendRefreshToken(this.db, hash);
    if (!row || row.client_id !== client.client_id) {
      // A used refresh token presented again: someone holds a copy. The grant is revoked whole.
      const seen = await getOAuthToken(this.db, hash);
      if (seen?.kind === "refresh" && seen.client_id === client.client_id && seen.used_at)
        await revokeOAuthFamily(this.db, seen.family_id);
      throw new InvalidGrantError("The refresh token is unknown, used, revoked or expired.");
    }
    if (resource && String(resource) !== row.resource)
      throw new InvalidTargetError("The token is for another resource.");
    return this.issue(row, row.family_id);
  }

  async verifyAccessToken(token: string): Promise<AuthInfo> {
    const row = await getOAuthToken(this.db, hashToken(token));
    if (row?.kind !== "access" || row.revoked_at || row.expires_at.getTime() <= Date.now())
      throw new InvalidTokenError("The access token is unknown, revoked or expired.");
    return {
      token,
      clientId: row.client_id,
      scopes: row.scopes ? row.scopes.split(" ") : [],
      expiresAt: Math.floor(row.expires_at.getTime() / 1000),
      resource: new URL(row.resource),
    };
  }

  /** RFC 7009: revoking either token of a grant revokes the grant. Unknown tokens are ignored. */
  async revokeToken(client: OAuthClientInformationFull, request: OAuthTokenRevocationRequest) {
    const row = await getOAuthToken(this.db, hashToken(request.token));
    if (row && row.client_id === client.client_id) await revokeOAuthFamily(this.db, row.family_id);
  }

  /** The user's consent: a single-use code for the client, bound to the request's connection. */
  async consent(requestId: string, who: { accountId: string; userId: string }, allowed: boolean) {
    const request = await takeOAuthRequest(this.db, requestId);
    if (!request) return undefined;
    const back = new URL(request.redirect_uri);
    if (request.state) back.searchParams.set("state", request.state);
    if (!allowed) {
      back.searchParams.set("error", "access_denied");
      return back.href;
    }
    const code = newToken("berth_ac_");
    await insertOAuthCode(this.db, hashToken(code), {
      client_id: request.client_id,
      account_id: who.accountId,
      user_id: who.userId,
      connection_id: request.connection_id,
      resource: request.resource,
      redirect_uri: request.redirect_uri,
      code_challenge: request.code_challenge,
      scopes: request.scopes,
      expires_at: new Date(Date.now() + CODE_SECONDS * 1000),
    });
    back.searchParams.set("code", code);
    return back.href;
  }

  private async issue(
    grant: Omit<OAuthCodeRow, "redirect_uri" | "code_challenge" | "used_at" | "expires_at">,
    familyId: string,
  ) {
    const access = newToken(ACCESS_TOKEN_PREFIX);
    const refresh = newToken(REFRESH_TOKEN_PREFIX);
    const base = {
      family_id: familyId,
      client_id: grant.client_id,
      account_id: grant.account_id,
      user_id: grant.user_id,
      connection_id: grant.connection_id,
      resource: grant.resource,
      scopes: grant.scopes,
    };
    await this.db.transaction(async (tx) => {
      const now = Date.now();
      await insertOAuthToken(tx, hashToken(access), {
        ...base,
        kind: "access",
        expires_at: new Date(now + ACCESS_TOKEN_SECONDS * 1000),
      });
      await insertOAuthToken(tx, hashToken(refresh), {
        ...base,
        kind: "refresh",
        expires_at: new Date(now + REFRESH_TOKEN_SECONDS * 1000),
      });
    });
    return {
      access_token: access,
      token_type: "Bearer",
      expires_in: ACCESS_TOKEN_SECONDS,
      refresh_token: refresh,
      ...(grant.scopes ? { scope: grant.scopes } : {}),
    };
  }
}
