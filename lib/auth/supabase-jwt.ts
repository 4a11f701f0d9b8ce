import { createRemoteJWKSet, errors, type JWSHeaderParameters, jwtVerify } from "jose";

/**
 * Verifies Supabase Auth access tokens with Web APIs only (jose over Web Crypto and fetch), so
 * Node and the Deno Edge Function share it.
 *
 * Supabase signs a session's access token with the project's current signing key: asymmetric
 * (ES256, or RS256) with its public keys at `<url>/auth/v1/.well-known/jwks.json` and a `kid`
 * header naming one of them; or, in the legacy setup, HS256 with the project's shared JWT secret.
 * The payload carries iss `<url>/auth/v1`, aud "authenticated", exp, iat, sub (the user's uuid,
 * `auth.uid()`), role, aal, session_id, email, phone, is_anonymous, app_metadata, user_metadata.
 * The anon and service_role keys are JWTs too, with role "anon" / "service_role" and no user: a
 * Berth caller is only ever a signed-in user (role "authenticated").
 */
export type SupabaseJwtConfig = {
  /** The project URL (SUPABASE_URL), e.g. https://<ref>.supabase.co; trailing slashes are ignored. */
  url: string;
  /** The legacy shared secret (SUPABASE_JWT_SECRET). Without it, HS256 tokens are refused. */
  jwtSecret?: string;
};

/** Who a valid access token speaks for. `userId` is `users.id` in Berth. */
export type SupabaseUser = { userId: string; email?: string; sessionId?: string };

export type SupabaseJwtVerifier = {
  readonly issuer: string;
  readonly jwksUrl: string;
  /**
   * The user of a valid token, or `undefined` for any token that is not one: malformed, badly
   * signed, expired, another issuer or audience, not a signed-in user. Throws only
   * `SupabaseAuthUnavailableError`, when the signing keys cannot be fetched.
   */
  verify(token: string): Promise<SupabaseUser | undefined>;
};

/**
 * The project's signing keys could not be loaded (network error, timeout, non-200 answer, not a
 * key set), so the token could be neither accepted nor refused. Callers answer 503, not 401: the
 * client's token may be fine, and "sign in again" would not help.
 */
export class SupabaseAuthUnavailableError extends Error {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = "SupabaseAuthUnavailableError";
  }
}

/** By name as well as class: the error may come from another bundle's copy of this module. */
export function isSupabaseAuthUnavailable(err: unknown): err is SupabaseAuthUnavailableError {
  return (
    err instanceof SupabaseAuthUnavailableError || (err instanceof Error && err.name === "SupabaseAuthUnavailableError")
  );
}

const ASYMMETRIC = ["ES256", "RS256"];
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
/** Compact JWS: three base64url parts, a JSON header (`{"` encodes to `eyJ`); the signature may be empty (alg none). */
const COMPACT_JWT = /^eyJ[A-Za-z0-9_-]*\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]*$/;
const MAX_TOKEN_LENGTH = 16 * 1024;

/**
 * Whether a bearer value has the shape of a JWT (Supabase access token) rather than a Berth API
 * key (`berth_…`, no dots). Shape only: nothing is verified.
 */
export function looksLikeJwt(token: string): boolean {
  return typeof token === "string" && token.length <= MAX_TOKEN_LENGTH && COMPACT_JWT.test(token);
}

/**
 * Build once per process and reuse: the key set is fetched on first use and cached as jose does
 * (10 minutes; an unknown `kid` refetches at most every 30 s, so a rotated key is picked up).
 * Allowed algorithms are fixed here, never taken from the token: ES256/RS256 only with the key set,
 * HS256 only with the configured secret (so a public key can never be used as an HMAC secret).
 */
export function createSupabaseJwtVerifier(config: SupabaseJwtConfig): SupabaseJwtVerifier {
  const base = config.url.replace(/\/+$/, "");
  const issuer = `${base}/auth/v1`;
  const jwksUrl = `${issuer}/.well-known/jwks.json`;
  const keySet = createRemoteJWKSet(new URL(jwksUrl));
  const secret = config.jwtSecret ? new TextEncoder().encode(config.jwtSecret) : undefined;
  const algorithms = secret ? [...ASYMMETRIC, "HS256"] : ASYMMETRIC;

  async function keyFor(header: JWSHeaderParameters) {
    if (header.alg === "HS256") {
      if (!secret) throw new errors.JOSEAlgNotAllowed("HS256 without a configured secret");
      return secret;
    }
    try {
      return await keySet(header);
    } catch (err) {
      // The token names no key we have (or an algorithm the set cannot serve): the token is bad.
      if (
        err instanceof errors.JWKSNoMatchingKey ||
        err instanceof errors.JWKSMultipleMatchingKeys ||
        err instanceof errors.JOSENotSupported
      )
        throw err;
      // Anything else happened while loading the key set.
      const reason = err instanceof Error ? err.message : String(err);
      throw new SupabaseAuthUnavailableError(`Cannot load Supabase Auth's signing keys from ${jwksUrl}: ${reason}`, {
        cause: err,
      });
    }
  }

  return {
    issuer,
    jwksUrl,
    async verify(token) {
      if (!looksLikeJwt(token)) return undefined;
      let payload: Record<string, unknown>;
      try {
        ({ payload } = await jwtVerify(token, keyFor, {
          algorithms,
          issuer,
          audience: "authenticated",
          requiredClaims: ["exp", "iat", "sub"],
        }));
      } catch (err) {
        if (isSupabaseAuthUnavailable(err)) throw err;
        return undefined;
      }
      if (payload.role !== "authenticated") return undefined;
      // Anonymous sign-ins also get role "authenticated"; they are nobody Berth could have added.
      if (payload.is_anonymous === true) return undefined;
      if (typeof payload.sub !== "string" || !UUID.test(payload.sub)) return undefined;
      const user: SupabaseUser = { userId: payload.sub.toLowerCase() };
      if (typeof payload.email === "string" && payload.email !== "") user.email = payload.email;
      if (typeof payload.session_id === "string" && UUID.test(payload.session_id)) user.sessionId = payload.session_id;
      return user;
    },
  };
}
