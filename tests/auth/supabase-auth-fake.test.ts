import { createClient } from "@supabase/supabase-js";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createSupabaseJwtVerifier } from "@/lib/auth/supabase-jwt";
import { FakeSupabaseAuth } from "../fakes/supabase-auth";

/**
 * supabase-js builds its realtime client in createClient, and realtime-js throws there on Node 20,
 * which has no global WebSocket. Nothing here uses realtime: a transport that refuses is enough.
 */
class NoWebSocket {
  constructor() {
    throw new Error("realtime is not used by these tests");
  }
}
const realtimeOnNode20 = globalThis.WebSocket
  ? {}
  : { realtime: { transport: NoWebSocket as unknown as typeof WebSocket } };

/**
 * The fake Supabase Auth is only useful if the real client accepts it: supabase-js (auth-js)
 * signs in, reads the user, verifies claims through the JWKS, refreshes and signs out against it.
 */
describe.each(["ES256", "HS256"] as const)("fake Supabase Auth with supabase-js (%s sessions)", (signingAlg) => {
  let fake: FakeSupabaseAuth;
  let userId: string;
  const email = "grace@example.com";
  const password = "a long enough password";

  beforeAll(async () => {
    fake = await FakeSupabaseAuth.start({ signingAlg, refreshTokenReuseSeconds: 0 });
    userId = fake.createUser({ email, password, userMetadata: { name: "Grace" } });
  });
  afterAll(async () => {
    await fake?.close();
  });

  const client = () => createClient(fake.url, "publishable-key", realtimeOnNode20);
  const verifier = () => createSupabaseJwtVerifier({ url: fake.url, jwtSecret: fake.jwtSecret });

  it("signs in with a password, reads the user and the verified claims", async () => {
    const supabase = client();
    const { data, error } = await supabase.auth.signInWithPassword({ email: "Grace@Example.com", password });
    expect(error).toBeNull();
    expect(data.user?.id).toBe(userId);
    expect(data.session?.token_type).toBe("bearer");
    expect(data.session?.expires_in).toBe(3600);
    expect(data.session?.expires_at).toBeGreaterThan(Date.now() / 1000 + 3500);
    const accessToken = data.session?.access_token as string;
    expect(await verifier().verify(accessToken)).toMatchObject({ userId, email });

    const user = await supabase.auth.getUser();
    expect(user.error).toBeNull();
    expect(user.data.user).toMatchObject({ id: userId, email, aud: "authenticated", user_metadata: { name: "Grace" } });

    const jwksBefore = fake.calls.filter((c) => c.path.endsWith("/.well-known/jwks.json")).length;
    const userBefore = fake.calls.filter((c) => c.path === "/auth/v1/user").length;
    const claims = await supabase.auth.getClaims();
    expect(claims.error).toBeNull();
    expect(claims.data?.claims).toMatchObject({
      sub: userId,
      email,
      role: "authenticated",
      aud: "authenticated",
      iss: `${fake.url}/auth/v1`,
      aal: "aal1",
      is_anonymous: false,
      session_id: expect.any(String),
    });
    expect(claims.data?.header.alg).toBe(signingAlg);
    const jwksFetched = fake.calls.filter((c) => c.path.endsWith("/.well-known/jwks.json")).length - jwksBefore;
    const userFetched = fake.calls.filter((c) => c.path === "/auth/v1/user").length - userBefore;
    if (signingAlg === "ES256") {
      // Verified locally with the published key, as against Supabase's asymmetric keys.
      expect(claims.data?.header.kid).toBe(fake.kid);
      expect([jwksFetched, userFetched]).toEqual([1, 0]);
    } else {
      // auth-js cannot check HS256 itself and asks the server instead.
      expect([jwksFetched, userFetched]).toEqual([0, 1]);
    }
    // supabase-js sends the project key; the key set is public (Berth's verifier sends none).
    const keyed = fake.calls.filter((c) => !c.path.endsWith("/.well-known/jwks.json"));
    expect(keyed.length).toBeGreaterThan(1);
    expect(keyed.every((c) => c.apikey === "publishable-key")).toBe(true);
    await supabase.auth.signOut();
  });

  it("refuses a wrong password with GoTrue's invalid_credentials", async () => {
    const { data, error } = await client().auth.signInWithPassword({ email, password: "not it at all" });
    expect(data.session).toBeNull();
    expect(error?.status).toBe(400);
    expect(error?.code).toBe("invalid_credentials");
    expect(error?.message).toBe("Invalid login credentials");
  });

  it("refreshes a session once per refresh token, and signs out for good", async () => {
    const supabase = client();
    const signedIn = await supabase.auth.signInWithPassword({ email, password });
    const first = signedIn.data.session;
    expect(first).not.toBeNull();
    await new Promise((r) => setTimeout(r, 1100)); // a later iat, so a different token

    const refreshed = await supabase.auth.refreshSession();
    expect(refreshed.error).toBeNull();
    const second = refreshed.data.session;
    expect(second?.access_token).not.toBe(first?.access_token);
    expect(second?.refresh_token).not.toBe(first?.refresh_token);
    expect(await verifier().verify(second?.access_token as string)).toMatchObject({ userId });

    // The used refresh token is spent.
    const reused = await fetch(`${fake.url}/auth/v1/token?grant_type=refresh_token`, {
      method: "POST",
      headers: { "content-type": "application/json", "x-supabase-api-version": "2024-01-01" },
      body: JSON.stringify({ refresh_token: first?.refresh_token }),
    });
    expect(reused.status).toBe(400);
    expect(await reused.json()).toEqual({
      code: "refresh_token_already_used",
      message: "Invalid Refresh Token: Already Used",
    });

    expect((await supabase.auth.signOut()).error).toBeNull();
    expect(fake.calls.some((c) => c.path === "/auth/v1/logout?scope=global" && c.status === 204)).toBe(true);
    const after = await client().auth.getUser(second?.access_token);
    expect(after.data.user).toBeNull();
    expect(after.error?.name).toBe("AuthSessionMissingError"); // GoTrue's 403 session_not_found
    const refreshAfter = await client().auth.refreshSession({ refresh_token: second?.refresh_token as string });
    expect(refreshAfter.error?.code).toBe("refresh_token_not_found");
  });

  it("refuses a token it did not sign on /user, as GoTrue does (403 bad_jwt)", async () => {
    const res = await fetch(`${fake.url}/auth/v1/user`, {
      headers: {
        authorization: `Bearer ${await fake.sign({ sub: userId }, { key: "stranger" })}`,
        "x-supabase-api-version": "2024-01-01",
      },
    });
    expect(res.status).toBe(403);
    expect(res.headers.get("x-supabase-api-version")).toBe("2024-01-01");
    expect(((await res.json()) as { code: string }).code).toBe("bad_jwt");
    const noBearer = await fetch(`${fake.url}/auth/v1/user`);
    expect(noBearer.status).toBe(401);
    expect(await noBearer.json()).toMatchObject({ code: 401, error_code: "no_authorization" });
  });
});
