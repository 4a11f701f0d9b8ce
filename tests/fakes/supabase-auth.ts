import { randomBytes, randomUUID } from "node:crypto";
import http from "node:http";
import type net from "node:net";
import {
  type CryptoKey,
  exportJWK,
  generateKeyPair,
  type JWK,
  type JWTPayload,
  jwtVerify,
  SignJWT,
  UnsecuredJWT,
} from "jose";

/**
 * A local fake of Supabase Auth (GoTrue) on 127.0.0.1, speaking its wire protocol for what Berth
 * and `@supabase/supabase-js` (auth-js 2.x) use, under `<url>/auth/v1` like a Supabase project:
 *
 * - GET  /.well-known/jwks.json: `{"keys":[…]}`, public EC P-256 keys (`kty, crv, x, y, kid, alg
 *   "ES256", use "sig", key_ops ["verify"], ext`); the HS256 secret is never published;
 * - POST /token?grant_type=password (`{email,password}`) and ?grant_type=refresh_token
 *   (`{refresh_token}`): the session JSON `{access_token, token_type "bearer", expires_in,
 *   expires_at, refresh_token, user}`; refresh tokens rotate, a used one is refused (after 10 s);
 * - GET  /user (Bearer): the user object; POST /logout?scope=global|local|others (Bearer): 204.
 *
 * Access tokens carry GoTrue's claims (iss, aud "authenticated" as a string, exp, iat, sub, email,
 * phone, app_metadata, user_metadata, role, aal, amr, session_id, is_anonymous), signed ES256 with
 * a `kid` (Supabase's asymmetric signing keys) or, with `signingAlg: "HS256"`, with the legacy
 * shared secret and no kid. Errors follow GoTrue: with the `X-Supabase-Api-Version: 2024-01-01`
 * header auth-js sends, `{"code":"<error_code>","message"}` (and the header echoed), otherwise
 * `{"code":<status>,"error_code","msg"}`. CORS is open, so a browser page may call it.
 *
 * Everything lives in memory; `createUser` stands in for the admin API, `sign` mints any token
 * directly (for negative tests), `calls` records every request.
 */

export type FakeSupabaseAuthOptions = {
  /** How the fake's own sessions are signed: "ES256" (default, asymmetric keys) or "HS256" (legacy secret). */
  signingAlg?: "ES256" | "HS256";
  /** The legacy JWT secret (HS256); a random one by default. */
  jwtSecret?: string;
  /** Access token lifetime, seconds (GoTrue's JWT_EXP, default 3600). */
  accessTokenSeconds?: number;
  /**
   * How long a used refresh token may be used again (GoTrue's
   * SECURITY_REFRESH_TOKEN_REUSE_INTERVAL, default 10 s): a browser tab and the server refreshing
   * the same session at once both succeed, as on Supabase.
   */
  refreshTokenReuseSeconds?: number;
};

export type FakeUserInput = {
  email: string;
  password: string;
  /** A chosen id (uuid); random by default. */
  id?: string;
  userMetadata?: Record<string, unknown>;
};

export type SignOptions = {
  /** "ES256" (default): the published signing key; "HS256": the legacy secret; "none": unsigned. */
  alg?: "ES256" | "HS256" | "none";
  /** ES256 only: "stranger" signs with a key the JWKS does not publish, under the published kid. */
  key?: "current" | "stranger";
  /** The `kid` header; `null` leaves it out. Default: the signing key's kid for ES256, none for HS256. */
  kid?: string | null;
  /** HS256 only: sign with this secret instead of the fake's. */
  secret?: string;
};

/** Claims for `sign`: `sub` and anything to override; a claim set to `undefined` is left out. */
export type SignClaims = { sub: string } & Record<string, unknown>;

/** One request: its path with the query, the status answered (0: connection dropped), the `apikey` header. */
export type FakeAuthCall = { method: string; path: string; status: number; apikey?: string };

type SigningKey = { kid: string; privateKey: CryptoKey; publicJwk: JWK };
type FakeUser = {
  id: string;
  email: string;
  password: string;
  userMetadata: Record<string, unknown>;
  createdAt: string;
  updatedAt: string;
  lastSignInAt?: string;
};
type FakeSession = { id: string; userId: string };
type RefreshToken = { sessionId: string; revoked: boolean; revokedAt?: number };

class GoTrueError extends Error {
  constructor(
    readonly status: number,
    readonly errorCode: string,
    message: string,
  ) {
    super(message);
  }
}

export class FakeSupabaseAuth {
  /** The project URL to give Berth and supabase-js (SUPABASE_URL); Auth is under `${url}/auth/v1`. */
  url = "";
  readonly calls: FakeAuthCall[] = [];
  readonly jwtSecret: string;
  readonly signingAlg: "ES256" | "HS256";
  readonly accessTokenSeconds: number;
  private readonly users = new Map<string, FakeUser>();
  private readonly sessions = new Map<string, FakeSession>();
  private readonly refreshTokens = new Map<string, RefreshToken>();
  private readonly refreshTokenReuseMs: number;
  /** Published keys, newest last; the newest signs. */
  private keys: SigningKey[] = [];
  private stranger!: SigningKey;
  private jwksFailure: number | "close" | undefined;
  private server!: http.Server;

  private constructor(opts: FakeSupabaseAuthOptions) {
    this.signingAlg = opts.signingAlg ?? "ES256";
    this.jwtSecret = opts.jwtSecret ?? randomBytes(32).toString("base64url");
    this.accessTokenSeconds = opts.accessTokenSeconds ?? 3600;
    this.refreshTokenReuseMs = (opts.refreshTokenReuseSeconds ?? 10) * 1000;
  }

  static async start(opts: FakeSupabaseAuthOptions = {}): Promise<FakeSupabaseAuth> {
    const fake = new FakeSupabaseAuth(opts);
    fake.keys = [await newSigningKey()];
    fake.stranger = await newSigningKey();
    fake.server = http.createServer((req, res) => {
      fake.handle(req, res).catch((err) => {
        if (!res.headersSent)
          fake.fail(req, res, new GoTrueError(500, "unexpected_failure", String(err?.message ?? err)));
        else res.destroy();
      });
    });
    await new Promise<void>((resolve) => fake.server.listen(0, "127.0.0.1", resolve));
    fake.url = `http://127.0.0.1:${(fake.server.address() as net.AddressInfo).port}`;
    return fake;
  }

  async close() {
    this.server.closeAllConnections();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }

  /** `iss` of the fake's tokens, what Berth must expect: `${url}/auth/v1`. */
  get issuer() {
    return `${this.url}/auth/v1`;
  }

  get jwksUrl() {
    return `${this.issuer}/.well-known/jwks.json`;
  }

  /** The kid of the key that signs now. */
  get kid(): string {
    return this.current().kid;
  }

  /** What GET /.well-known/jwks.json answers. */
  jwks(): { keys: JWK[] } {
    return { keys: this.keys.map((k) => k.publicJwk) };
  }

  /** Adds a new signing key (published beside the old ones, which stay valid); returns its kid. */
  async rotateKey(): Promise<string> {
    const key = await newSigningKey();
    this.keys.push(key);
    return key.kid;
  }

  /** Makes the JWKS endpoint answer this status, or drop the connection ("close"); `undefined` heals it. */
  setJwksFailure(failure: number | "close" | undefined) {
    this.jwksFailure = failure;
  }

  /** A confirmed email user, as the admin API would create it; returns the user id. */
  createUser(input: FakeUserInput): string {
    const email = input.email.trim().toLowerCase();
    if ([...this.users.values()].some((u) => u.email === email)) throw new Error(`A user with ${email} exists.`);
    const now = new Date().toISOString();
    const id = input.id ?? randomUUID();
    this.users.set(id, {
      id,
      email,
      password: input.password,
      userMetadata: input.userMetadata ?? {},
      createdAt: now,
      updatedAt: now,
    });
    return id;
  }

  /** Ends every session of a user, like an admin sign-out: their refresh tokens stop working. */
  revokeSessions(userId: string) {
    for (const s of [...this.sessions.values()]) if (s.userId === userId) this.endSession(s.id);
  }

  /**
   * Mints an access token directly: GoTrue's claims for `sub` (its user's email when known, a new
   * session id), with `claims` overriding them (`undefined` removes one), signed per `options`.
   */
  async sign(claims: SignClaims, options: SignOptions = {}): Promise<string> {
    const user = this.users.get(claims.sub);
    const base = this.claimsFor(
      user ?? { id: claims.sub, email: "", password: "", userMetadata: {}, createdAt: "", updatedAt: "" },
      randomUUID(),
    );
    const payload: Record<string, unknown> = { ...base, ...claims };
    for (const [k, v] of Object.entries(payload)) if (v === undefined) delete payload[k];
    return this.signPayload(payload as JWTPayload, options);
  }

  // ---------------------------------------------------------------- tokens

  private current(): SigningKey {
    const key = this.keys[this.keys.length - 1];
    if (!key) throw new Error("no signing key");
    return key;
  }

  private claimsFor(user: FakeUser, sessionId: string): JWTPayload {
    const now = Math.floor(Date.now() / 1000);
    return {
      aud: "authenticated",
      exp: now + this.accessTokenSeconds,
      iat: now,
      iss: this.issuer,
      sub: user.id,
      email: user.email,
      phone: "",
      app_metadata: { provider: "email", providers: ["email"] },
      user_metadata: userMetadata(user),
      role: "authenticated",
      aal: "aal1",
      amr: [{ method: "password", timestamp: now }],
      session_id: sessionId,
      is_anonymous: false,
    };
  }

  private async signPayload(payload: JWTPayload, options: SignOptions): Promise<string> {
    const alg = options.alg ?? "ES256";
    if (alg === "none") return new UnsecuredJWT(payload).encode();
    if (alg === "HS256") {
      const header = { alg, typ: "JWT", ...(options.kid ? { kid: options.kid } : {}) };
      const secret = new TextEncoder().encode(options.secret ?? this.jwtSecret);
      return new SignJWT(payload).setProtectedHeader(header).sign(secret);
    }
    const current = this.current();
    const key = options.key === "stranger" ? this.stranger : current;
    const kid = options.kid === undefined ? current.kid : options.kid;
    const header = { alg, typ: "JWT", ...(kid ? { kid } : {}) };
    return new SignJWT(payload).setProtectedHeader(header).sign(key.privateKey);
  }

  private async issueSession(user: FakeUser, sessionId: string) {
    const claims = this.claimsFor(user, sessionId);
    const accessToken = await this.signPayload(claims, { alg: this.signingAlg });
    const refreshToken = randomBytes(9).toString("base64url");
    this.refreshTokens.set(refreshToken, { sessionId, revoked: false });
    return {
      access_token: accessToken,
      token_type: "bearer",
      expires_in: this.accessTokenSeconds,
      expires_at: claims.exp,
      refresh_token: refreshToken,
      user: this.userJson(user),
    };
  }

  /** The user of a Bearer token the fake itself would accept (its keys or its secret), as GoTrue checks it. */
  private async authenticate(req: http.IncomingMessage): Promise<{ user: FakeUser; session?: FakeSession }> {
    const match = /^Bearer (\S+)$/i.exec(req.headers.authorization ?? "");
    if (!match?.[1]) throw new GoTrueError(401, "no_authorization", "This endpoint requires a Bearer token");
    let payload: JWTPayload;
    try {
      ({ payload } = await jwtVerify(
        match[1],
        async (header) => {
          if (header.alg === "HS256") return new TextEncoder().encode(this.jwtSecret);
          const key = this.keys.find((k) => k.kid === header.kid);
          if (!key) throw new Error(`unrecognized JWT kid ${header.kid} for algorithm ${header.alg}`);
          return key.publicJwk;
        },
        { algorithms: ["ES256", "HS256"], issuer: this.issuer },
      ));
    } catch (err) {
      throw new GoTrueError(
        403,
        "bad_jwt",
        `invalid JWT: unable to parse or verify signature, ${(err as Error).message.toLowerCase()}`,
      );
    }
    if (typeof payload.sub !== "string" || !payload.sub)
      throw new GoTrueError(403, "bad_jwt", "invalid claim: missing sub claim");
    const user = this.users.get(payload.sub);
    if (!user) throw new GoTrueError(403, "user_not_found", "User from sub claim in JWT does not exist");
    const sessionId = typeof payload.session_id === "string" ? payload.session_id : undefined;
    const session = sessionId ? this.sessions.get(sessionId) : undefined;
    if (sessionId && !session)
      throw new GoTrueError(403, "session_not_found", "Session from session_id claim in JWT does not exist");
    return { user, session };
  }

  private endSession(id: string) {
    this.sessions.delete(id);
    for (const [token, rt] of this.refreshTokens) if (rt.sessionId === id) this.refreshTokens.delete(token);
  }

  private userJson(user: FakeUser) {
    const identityId = randomUUID();
    const identityData = { email: user.email, email_verified: false, phone_verified: false, sub: user.id };
    return {
      id: user.id,
      aud: "authenticated",
      role: "authenticated",
      email: user.email,
      email_confirmed_at: user.createdAt,
      phone: "",
      confirmed_at: user.createdAt,
      ...(user.lastSignInAt ? { last_sign_in_at: user.lastSignInAt } : {}),
      app_metadata: { provider: "email", providers: ["email"] },
      user_metadata: userMetadata(user),
      identities: [
        {
          identity_id: identityId,
          id: user.id,
          user_id: user.id,
          identity_data: identityData,
          provider: "email",
          last_sign_in_at: user.createdAt,
          created_at: user.createdAt,
          updated_at: user.updatedAt,
          email: user.email,
        },
      ],
      created_at: user.createdAt,
      updated_at: user.updatedAt,
      is_anonymous: false,
    };
  }

  // ---------------------------------------------------------------- HTTP

  private async handle(req: http.IncomingMessage, res: http.ServerResponse) {
    const url = new URL(req.url ?? "/", "http://fake");
    const apikey = typeof req.headers.apikey === "string" ? req.headers.apikey : undefined;
    // A dropped connection is recorded with status 0.
    res.on("close", () =>
      this.calls.push({
        method: req.method ?? "",
        path: url.pathname + url.search,
        status: res.writableFinished ? res.statusCode : 0,
        apikey,
      }),
    );
    res.setHeader("access-control-allow-origin", req.headers.origin ?? "*");
    res.setHeader("access-control-expose-headers", "x-supabase-api-version");
    if (req.method === "OPTIONS") {
      res.writeHead(204, {
        "access-control-allow-methods": "GET, POST, PUT, DELETE, OPTIONS",
        "access-control-allow-headers": "authorization, apikey, content-type, x-client-info, x-supabase-api-version",
        "access-control-max-age": "3600",
      });
      return void res.end();
    }
    const route = `${req.method} ${url.pathname.replace(/\/+$/, "")}`;
    try {
      switch (route) {
        case "GET /auth/v1/.well-known/jwks.json":
          if (this.jwksFailure === "close") return void res.destroy();
          if (this.jwksFailure) throw new GoTrueError(this.jwksFailure, "unexpected_failure", "JWKS unavailable");
          return this.send(req, res, 200, this.jwks());
        case "POST /auth/v1/token":
          return this.send(req, res, 200, await this.token(url.searchParams.get("grant_type"), await readJson(req)));
        case "GET /auth/v1/user":
          return this.send(req, res, 200, this.userJson((await this.authenticate(req)).user));
        case "POST /auth/v1/logout":
          await this.logout(req, url.searchParams.get("scope") ?? "global");
          this.versionHeader(req, res);
          return void res.writeHead(204).end();
        default:
          throw new GoTrueError(404, "not_found", "Not Found");
      }
    } catch (err) {
      if (err instanceof OAuthError)
        return this.send(req, res, 400, { error: err.error, error_description: err.message });
      if (err instanceof GoTrueError) return this.fail(req, res, err);
      throw err;
    }
  }

  private async token(grantType: string | null, body: Record<string, unknown>) {
    if (grantType === "password") {
      const email = typeof body.email === "string" ? body.email.trim().toLowerCase() : "";
      const password = typeof body.password === "string" ? body.password : "";
      if (!email) throw new GoTrueError(400, "validation_failed", "missing email or phone");
      const user = [...this.users.values()].find((u) => u.email === email);
      if (!user || user.password !== password)
        throw new GoTrueError(400, "invalid_credentials", "Invalid login credentials");
      user.lastSignInAt = new Date().toISOString();
      const session: FakeSession = { id: randomUUID(), userId: user.id };
      this.sessions.set(session.id, session);
      return this.issueSession(user, session.id);
    }
    if (grantType === "refresh_token") {
      const token = typeof body.refresh_token === "string" ? body.refresh_token : "";
      if (!token) throw new OAuthError("invalid_request", "refresh_token required");
      const rt = this.refreshTokens.get(token);
      const session = rt && this.sessions.get(rt.sessionId);
      const user = session && this.users.get(session.userId);
      if (!rt || !session || !user)
        throw new GoTrueError(400, "refresh_token_not_found", "Invalid Refresh Token: Refresh Token Not Found");
      const reusable = rt.revokedAt !== undefined && Date.now() - rt.revokedAt <= this.refreshTokenReuseMs;
      if (rt.revoked && !reusable)
        throw new GoTrueError(400, "refresh_token_already_used", "Invalid Refresh Token: Already Used");
      rt.revoked = true;
      rt.revokedAt ??= Date.now();
      return this.issueSession(user, session.id);
    }
    throw new OAuthError("unsupported_grant_type", "");
  }

  private async logout(req: http.IncomingMessage, scope: string) {
    if (!["global", "local", "others"].includes(scope))
      throw new GoTrueError(400, "validation_failed", `Unsupported logout scope "${scope}"`);
    const { user, session } = await this.authenticate(req);
    for (const s of [...this.sessions.values()]) {
      if (s.userId !== user.id) continue;
      if (scope === "local" && s.id !== session?.id) continue;
      if (scope === "others" && s.id === session?.id) continue;
      this.endSession(s.id);
    }
  }

  private versionHeader(req: http.IncomingMessage, res: http.ServerResponse) {
    const v = req.headers["x-supabase-api-version"];
    if (typeof v === "string" && /^\d{4}-\d{2}-\d{2}$/.test(v) && v >= "2024-01-01")
      res.setHeader("x-supabase-api-version", "2024-01-01");
  }

  private send(req: http.IncomingMessage, res: http.ServerResponse, status: number, body: unknown) {
    this.versionHeader(req, res);
    res.writeHead(status, { "content-type": "application/json" }).end(JSON.stringify(body));
  }

  private fail(req: http.IncomingMessage, res: http.ServerResponse, err: GoTrueError) {
    const v = req.headers["x-supabase-api-version"];
    const versioned = typeof v === "string" && v >= "2024-01-01";
    this.send(
      req,
      res,
      err.status,
      versioned
        ? { code: err.errorCode, message: err.message }
        : { code: err.status, error_code: err.errorCode, msg: err.message },
    );
  }
}

class OAuthError extends Error {
  constructor(
    readonly error: string,
    description: string,
  ) {
    super(description);
  }
}

async function newSigningKey(): Promise<SigningKey> {
  const { privateKey, publicKey } = await generateKeyPair("ES256", { extractable: true });
  const kid = randomUUID();
  const publicJwk: JWK = {
    ...(await exportJWK(publicKey)),
    kid,
    alg: "ES256",
    use: "sig",
    key_ops: ["verify"],
    ext: true,
  };
  return { kid, privateKey, publicJwk };
}

async function readJson(req: http.IncomingMessage): Promise<Record<string, unknown>> {
  let raw = "";
  for await (const chunk of req) raw += chunk;
  if (!raw) return {};
  try {
    const parsed = JSON.parse(raw);
    if (parsed && typeof parsed === "object" && !Array.isArray(parsed)) return parsed;
  } catch (err) {
    throw new GoTrueError(400, "bad_json", `Could not parse request body as JSON: ${(err as Error).message}`);
  }
  throw new GoTrueError(400, "bad_json", "Could not parse request body as JSON: not an object");
}

/** The user_metadata GoTrue shows in tokens and user objects alike. */
function userMetadata(user: FakeUser) {
  return { ...user.userMetadata, email: user.email, email_verified: true, phone_verified: false, sub: user.id };
}
