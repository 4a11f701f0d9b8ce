import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  createSupabaseJwtVerifier,
  isSupabaseAuthUnavailable,
  looksLikeJwt,
  SupabaseAuthUnavailableError,
  type SupabaseJwtVerifier,
} from "@/lib/auth/supabase-jwt";
import { FakeSupabaseAuth, type SignClaims, type SignOptions } from "../fakes/supabase-auth";
import { freePort } from "../support/berth-server";

/**
 * The verifier against the fake Supabase Auth. Every rejected token is the accepted one with one
 * thing changed, so each rejection is owed to that change.
 */
describe("Supabase access token verifier", () => {
  let fake: FakeSupabaseAuth;
  let verifier: SupabaseJwtVerifier;
  let withSecret: SupabaseJwtVerifier;
  let userId: string;
  const email = "ada@example.com";
  const now = () => Math.floor(Date.now() / 1000);

  beforeAll(async () => {
    fake = await FakeSupabaseAuth.start();
    userId = fake.createUser({ email, password: "correct horse battery" });
    verifier = createSupabaseJwtVerifier({ url: fake.url });
    withSecret = createSupabaseJwtVerifier({ url: `${fake.url}/`, jwtSecret: fake.jwtSecret });
  });
  afterAll(async () => {
    await fake?.close();
  });

  const mint = (claims: Partial<SignClaims> = {}, options?: SignOptions) =>
    fake.sign({ sub: userId, ...claims }, options);

  it("accepts a valid ES256 token and tells the user, email and session", async () => {
    const sessionId = crypto.randomUUID();
    const token = await mint({ session_id: sessionId });
    expect(looksLikeJwt(token)).toBe(true);
    expect(await verifier.verify(token)).toEqual({ userId, email, sessionId });
    expect(await withSecret.verify(token)).toEqual({ userId, email, sessionId });
  });

  it("accepts the access token of a real password sign-in", async () => {
    const res = await fetch(`${fake.url}/auth/v1/token?grant_type=password`, {
      method: "POST",
      headers: { "content-type": "application/json", apikey: "publishable-key" },
      body: JSON.stringify({ email, password: "correct horse battery" }),
    });
    expect(res.status).toBe(200);
    const session = (await res.json()) as { access_token: string; user: { id: string } };
    expect(session.user.id).toBe(userId);
    expect(await verifier.verify(session.access_token)).toMatchObject({ userId, email });
  });

  it("accepts aud as an array that includes authenticated, and leaves out an empty email", async () => {
    expect(await verifier.verify(await mint({ aud: ["other", "authenticated"], email: "" }))).toEqual({
      userId,
      sessionId: expect.any(String),
    });
  });

  const rejected: [string, () => Promise<string>][] = [
    ["expired", () => mint({ exp: now() - 60, iat: now() - 3660 })],
    ["without exp", () => mint({ exp: undefined })],
    ["another project's issuer", () => mint({ iss: "https://other.supabase.co/auth/v1" })],
    ["the project URL as issuer (no /auth/v1)", () => mint({ iss: fake.url })],
    ["without iss", () => mint({ iss: undefined })],
    ["another audience", () => mint({ aud: "anon" })],
    ["an audience list without authenticated", () => mint({ aud: ["service"] })],
    ["without aud", () => mint({ aud: undefined })],
    ["signed by another key under the published kid", () => mint({}, { key: "stranger" })],
    ["signed by a key with an unknown kid", () => mint({}, { key: "stranger", kid: crypto.randomUUID() })],
    ["alg none", () => mint({}, { alg: "none" })],
    ["HS256 when no secret is configured", () => mint({}, { alg: "HS256" })],
    ["role anon", () => mint({ role: "anon" })],
    ["role service_role", () => mint({ role: "service_role" })],
    ["without role", () => mint({ role: undefined })],
    ["an anonymous sign-in", () => mint({ is_anonymous: true })],
    ["a sub that is not a uuid", () => mint({ sub: "ada" })],
    ["without sub", () => mint({ sub: undefined })],
    [
      "a tampered payload (sub swapped, signature kept)",
      async () => {
        const [header, payload, signature] = (await mint()).split(".");
        const claims = JSON.parse(Buffer.from(payload as string, "base64url").toString());
        claims.sub = crypto.randomUUID();
        return `${header}.${Buffer.from(JSON.stringify(claims)).toString("base64url")}.${signature}`;
      },
    ],
  ];

  it.each(rejected)("rejects a token %s", async (_, make) => {
    expect(await verifier.verify(await make())).toBeUndefined();
  });

  it("accepts HS256 with the configured secret, and no other secret", async () => {
    const legacy = await mint({}, { alg: "HS256" });
    expect(await withSecret.verify(legacy)).toMatchObject({ userId, email });
    expect(await verifier.verify(legacy)).toBeUndefined();
    expect(await withSecret.verify(await mint({}, { alg: "HS256", secret: "not-the-project-secret" }))).toBeUndefined();
    // The claim checks hold for HS256 too.
    expect(await withSecret.verify(await mint({ role: "anon" }, { alg: "HS256" }))).toBeUndefined();
    expect(await withSecret.verify(await mint({ exp: now() - 60 }, { alg: "HS256" }))).toBeUndefined();
  });

  it("never uses the published public key as an HMAC secret", async () => {
    // The classic algorithm confusion: HS256 "signed" with the public key's JSON.
    const publicKey = JSON.stringify(fake.jwks().keys[0]);
    expect(await withSecret.verify(await mint({}, { alg: "HS256", secret: publicKey }))).toBeUndefined();
  });

  it("answers undefined for things that are not JWTs, without throwing", async () => {
    for (const value of ["", "berth_abcdefghijklmnopqrstuvwxyz0123456789", "a.b.c", "eyJ.eyJ", "eyJhbGciOi.x.y z"]) {
      expect(await verifier.verify(value)).toBeUndefined();
    }
    expect(await verifier.verify(`eyJhbGciOiJFUzI1NiJ9.${"A".repeat(20_000)}.sig`)).toBeUndefined();
    expect(await verifier.verify(undefined as unknown as string)).toBeUndefined();
  });

  it("tells a JWT from a Berth API key by shape", async () => {
    expect(looksLikeJwt(await mint())).toBe(true);
    expect(looksLikeJwt(await mint({}, { alg: "none" }))).toBe(true);
    expect(looksLikeJwt("berth_Zm9vYmFyYmF6cXV4MTIzNDU2Nzg5MGFiY2RlZg")).toBe(false);
    expect(looksLikeJwt("not a token")).toBe(false);
    expect(looksLikeJwt("header.payload.signature")).toBe(false);
  });

  it("fetches the key set once and reuses it", async () => {
    const fresh = createSupabaseJwtVerifier({ url: fake.url });
    const fetches = () => fake.calls.filter((c) => c.path === "/auth/v1/.well-known/jwks.json").length;
    const before = fetches();
    expect(await fresh.verify(await mint())).toBeDefined();
    expect(await fresh.verify(await mint())).toBeDefined();
    expect(await fresh.verify(await mint({ role: "anon" }))).toBeUndefined();
    expect(fetches() - before).toBe(1);
    expect(fresh.jwksUrl).toBe(fake.jwksUrl);
    expect(fresh.issuer).toBe(fake.issuer);
  });

  it("throws SupabaseAuthUnavailableError when the key set cannot be loaded, not undefined", async () => {
    const token = await mint();
    const nobody = `http://127.0.0.1:${await freePort()}`;
    const unreachable = createSupabaseJwtVerifier({ url: nobody });
    const err = await unreachable.verify(token).then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(err).toBeInstanceOf(SupabaseAuthUnavailableError);
    expect(isSupabaseAuthUnavailable(err)).toBe(true);
    expect((err as Error).message).toContain(`${nobody}/auth/v1/.well-known/jwks.json`);
    // Nothing is fetched for a token that is refused on its face.
    expect(await unreachable.verify("berth_abcdefghijklmnopqrstuvwxyz0123456789")).toBeUndefined();
    expect(await unreachable.verify(await mint({}, { alg: "none" }))).toBeUndefined();

    for (const failure of [500, "close"] as const) {
      fake.setJwksFailure(failure);
      try {
        await expect(createSupabaseJwtVerifier({ url: fake.url }).verify(token)).rejects.toBeInstanceOf(
          SupabaseAuthUnavailableError,
        );
      } finally {
        fake.setJwksFailure(undefined);
      }
    }
    expect(await createSupabaseJwtVerifier({ url: fake.url }).verify(token)).toMatchObject({ userId });
  });
});
