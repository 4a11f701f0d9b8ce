import * as oauth from "oauth4webapi";
import type { UpstreamOAuthClient } from "@/lib/core/context";
import type { UpstreamOAuth } from "@/lib/core/schemas/upstream-oauth";

/**
 * Berth as an OAuth client of the providers servers' definitions declare (GitHub, Slack), through
 * oauth4webapi: the authorization URL with PKCE (S256), the code exchange and refresh. Nothing
 * here touches the database; lib/core/services/connections/upstream-oauth.ts keeps the tokens.
 */

/** What a token endpoint answered, as far as Berth keeps it. */
export type TokenAnswer = {
  /** The whole JSON answer, for the definition's `env` paths (`team.id`). */
  body: Record<string, unknown>;
  refreshToken?: string;
  /** When the access token expires; undefined: the provider did not say (it does not). */
  expiresAt?: Date;
};

/**
 * A provider's refusal or failure. `transient`: it may work on a later try (the network, a 5xx,
 * 429); else the grant itself was refused (`invalid_grant`, a revoked app) and only a person
 * connecting again helps.
 */
export class UpstreamOAuthError extends Error {
  constructor(
    message: string,
    readonly transient: boolean,
  ) {
    super(message);
  }
}

const TIMEOUT_MS = 15_000;
/** A token answer is a few hundred bytes; more than this is not one (and is not read further). */
const MAX_ANSWER_BYTES = 64 * 1024;

function serverOf(decl: UpstreamOAuth): oauth.AuthorizationServer {
  return {
    issuer: decl.issuer ?? new URL(decl.authorization_url).origin,
    authorization_endpoint: decl.authorization_url,
    token_endpoint: decl.token_url,
  };
}

/**
 * fetch, reading at most MAX_ANSWER_BYTES of the answer: a provider that sends megabytes gets
 * an error, not Berth's memory and time.
 */
async function cappedFetch(url: string, init: RequestInit): Promise<Response> {
  const response = await fetch(url, init);
  const reader = response.body?.getReader();
  const chunks: BlobPart[] = [];
  let size = 0;
  for (;;) {
    const next = await reader?.read();
    if (!next || next.done) break;
    size += next.value.byteLength;
    if (size > MAX_ANSWER_BYTES) {
      await reader?.cancel();
      throw new UpstreamOAuthError(`The provider's answer is larger than ${MAX_ANSWER_BYTES / 1024} KiB.`, false);
    }
    chunks.push(next.value);
  }
  return new Response(new Blob(chunks), { status: response.status, headers: response.headers });
}

/** http is allowed only on loopback addresses (the definition's schema), for a provider on this machine. */
const options = (decl: UpstreamOAuth) => ({
  [oauth.allowInsecureRequests]: decl.token_url.startsWith("http:"),
  [oauth.customFetch]: cappedFetch,
  signal: AbortSignal.timeout(TIMEOUT_MS),
  // Slack answers `token_type: "bot"`; the type does not matter to Berth, which only hands the
  // token to the server.
  recognizedTokenTypes: { bot: () => {}, user: () => {} },
});

const clientAuth = (client: UpstreamOAuthClient) =>
  client.clientSecret ? oauth.ClientSecretPost(client.clientSecret) : oauth.None();

export const newCodeVerifier = () => oauth.generateRandomCodeVerifier();
export const newState = () => oauth.generateRandomState();

/** Where the person authorizing is sent: the provider's authorization endpoint with PKCE. */
export async function authorizationUrl(
  decl: UpstreamOAuth,
  client: UpstreamOAuthClient,
  { redirectUri, state, codeVerifier }: { redirectUri: string; state: string; codeVerifier: string },
) {
  const url = new URL(decl.authorization_url);
  for (const [k, v] of Object.entries(decl.authorization_params)) url.searchParams.set(k, v);
  url.searchParams.set("response_type", "code");
  url.searchParams.set("client_id", client.clientId);
  url.searchParams.set("redirect_uri", redirectUri);
  if (decl.scopes.length) url.searchParams.set("scope", decl.scopes.join(decl.scope_delimiter));
  url.searchParams.set("state", state);
  url.searchParams.set("code_challenge", await oauth.calculatePKCECodeChallenge(codeVerifier));
  url.searchParams.set("code_challenge_method", "S256");
  return url.href;
}

/** The provider's answer on the redirect URI, checked (state, `iss`, `error`), exchanged for tokens. */
export async function exchangeCode(
  decl: UpstreamOAuth,
  client: UpstreamOAuthClient,
  {
    callback,
    state,
    redirectUri,
    codeVerifier,
  }: { callback: URLSearchParams; state: string; redirectUri: string; codeVerifier: string },
): Promise<TokenAnswer> {
  const as = serverOf(decl);
  const c: oauth.Client = { client_id: client.clientId };
  const secrets = [callback.get("code") ?? "", codeVerifier, client.clientSecret ?? ""];
  return tokenCall(secrets, async () => {
    const params = oauth.validateAuthResponse(as, c, callback, state);
    const response = await oauth.authorizationCodeGrantRequest(
      as,
      c,
      clientAuth(client),
      params,
      redirectUri,
      codeVerifier,
      options(decl),
    );
    return oauth.processAuthorizationCodeResponse(as, c, response, options(decl));
  });
}

/** A new access token (and, where the provider rotates them, a new refresh token). */
export function refresh(decl: UpstreamOAuth, client: UpstreamOAuthClient, refreshToken: string): Promise<TokenAnswer> {
  const as = serverOf(decl);
  const c: oauth.Client = { client_id: client.clientId };
  return tokenCall([refreshToken, client.clientSecret ?? ""], async () => {
    const response = await oauth.refreshTokenGrantRequest(as, c, clientAuth(client), refreshToken, options(decl));
    return oauth.processRefreshTokenResponse(as, c, response, options(decl));
  });
}

/**
 * Makes a token request; a failure says why in the provider's words, minus `secrets` (the refresh
 * token, the code, the client secret), which a provider may quote back.
 */
async function tokenCall(secrets: string[], call: () => Promise<oauth.TokenEndpointResponse>): Promise<TokenAnswer> {
  let answer: oauth.TokenEndpointResponse;
  try {
    answer = await call();
  } catch (err) {
    throw err instanceof UpstreamOAuthError ? err : asUpstreamError(err, secrets);
  }
  return {
    body: answer as unknown as Record<string, unknown>,
    refreshToken: answer.refresh_token,
    expiresAt: typeof answer.expires_in === "number" ? new Date(Date.now() + answer.expires_in * 1000) : undefined,
  };
}

/**
 * Says what went wrong in the provider's own words (`error`, `error_description`), never more of
 * its answer: a token must not reach an event or a log.
 */
function asUpstreamError(err: unknown, secrets: string[]): UpstreamOAuthError {
  const described = (error: string, description?: string) => {
    let text = description ? `${error} (${description})` : error;
    for (const secret of secrets) if (secret.length >= 4) text = text.replaceAll(secret, "[redacted]");
    return text.replace(/[^\x20-\x7e]/g, "?").slice(0, 300);
  };
  if (err instanceof oauth.AuthorizationResponseError) {
    return new UpstreamOAuthError(`The provider answered ${described(err.error, err.error_description)}.`, false);
  }
  if (err instanceof oauth.ResponseBodyError) {
    const transient = err.status >= 500 || err.status === 429;
    return new UpstreamOAuthError(`The provider refused: ${described(err.error, err.error_description)}.`, transient);
  }
  if (err instanceof oauth.OperationProcessingError) {
    const cause = err.cause as { body?: Record<string, unknown> } | Response | undefined;
    if (cause instanceof Response) {
      const transient = cause.status >= 500 || cause.status === 429;
      return new UpstreamOAuthError(`The provider's token endpoint answered HTTP ${cause.status}.`, transient);
    }
    // GitHub and Slack answer a refusal with 200 and `{"error": …}` (Slack: `"ok": false`).
    const error = cause?.body?.error;
    if (typeof error === "string")
      return new UpstreamOAuthError(
        `The provider refused: ${described(error, cause?.body?.error_description as string | undefined)}.`,
        false,
      );
    return new UpstreamOAuthError(`The provider's answer is not usable: ${described(err.message)}.`, false);
  }
  // fetch failed (no route, DNS, reset) or timed out.
  const message = err instanceof Error ? err.message : String(err);
  return new UpstreamOAuthError(`The provider could not be reached: ${described(message)}.`, true);
}
