import fs from "node:fs";
import path from "node:path";
import { test as base, expect, type Page } from "@playwright/test";
import { sealSession } from "../lib/auth/session";
import { FakeSupabaseAuth } from "../tests/fakes/supabase-auth";
import { type BerthServer, startBerth } from "../tests/support/berth-server";

/**
 * The dashboard with Supabase Auth: a Berth of its own, started with NEXT_PUBLIC_SUPABASE_URL on
 * the fake Supabase Auth (GoTrue) this worker runs, so the test can create the fake's users. The
 * build is the same one the built-in suite uses: the Supabase settings are read at run time.
 */
const PUBLISHABLE_KEY = "sb_publishable_e2e-not-a-real-key";
const ACCOUNT = "Lovelace Labs";
const USER = { email: "ada@lovelace.test", password: "analytical engine 1843" };
const STRANGER = { email: "stranger@elsewhere.test", password: "no account anywhere" };

type Stack = { berth: BerthServer; fake: FakeSupabaseAuth; accountId: string; userId: string; strangerId: string };

const test = base.extend<object, { stack: Stack }>({
  stack: [
    // biome-ignore lint/correctness/noEmptyPattern: Playwright reads the fixtures a function asks for from its first parameter.
    async ({}, use) => {
      const fake = await FakeSupabaseAuth.start();
      const userId = fake.createUser(USER);
      const strangerId = fake.createUser(STRANGER);
      const berth = await startBerth({
        NEXT_PUBLIC_SUPABASE_URL: fake.url,
        NEXT_PUBLIC_SUPABASE_PUBLISHABLE_KEY: PUBLISHABLE_KEY,
      });
      try {
        // As an operator would: an account, and the Supabase user (by id) made its admin.
        const { account_id: accountId } = (await berth.cli(["accounts", "create", "--name", ACCOUNT])) as {
          account_id: string;
        };
        expect(
          await berth.cli(["members", "add", "--account", accountId, "--user-id", userId, "--role", "admin"]),
        ).toEqual({ account_id: accountId, user_id: userId, role: "admin" });
        await use({ berth, fake, accountId, userId, strangerId });
      } finally {
        await berth.stop();
        await fake.close();
        fs.rmSync(berth.dataDir, { recursive: true, force: true });
      }
    },
    { scope: "worker", timeout: 180_000 },
  ],
  baseURL: async ({ stack }, use) => use(stack.berth.url),
});

test.describe.configure({ mode: "serial" });

async function signIn(page: Page, who: { email: string; password: string }) {
  await page.goto("/sign-in");
  await page.getByLabel("Email").fill(who.email);
  await page.getByLabel("Password").fill(who.password);
  await page.getByRole("button", { name: "Sign in" }).click();
}

/** The fake's password grant, as any Supabase client signs in: the session's access token. */
async function accessToken(fake: FakeSupabaseAuth, who: { email: string; password: string }) {
  const res = await fetch(`${fake.url}/auth/v1/token?grant_type=password`, {
    method: "POST",
    headers: { apikey: PUBLISHABLE_KEY, "content-type": "application/json" },
    body: JSON.stringify(who),
  });
  expect(res.status).toBe(200);
  return ((await res.json()) as { access_token: string }).access_token;
}

const SESSION_COOKIE = /^sb-.+-auth-token(?:\.(\d+))?$/;
type StoredSession = { access_token: string; refresh_token: string; expires_at: number };

/** The browser's Supabase session cookies (`sb-<ref>-auth-token`, maybe in chunks), in order. */
async function sessionCookies(page: Page) {
  return (await page.context().cookies())
    .filter((c) => SESSION_COOKIE.test(c.name))
    .sort((a, b) => Number(SESSION_COOKIE.exec(a.name)?.[1] ?? 0) - Number(SESSION_COOKIE.exec(b.name)?.[1] ?? 0));
}

/** The session as @supabase/ssr stores it: "base64-" and the session JSON in base64url. */
async function readSession(page: Page): Promise<StoredSession> {
  const value = (await sessionCookies(page)).map((c) => c.value).join("");
  expect(value.startsWith("base64-")).toBe(true);
  return JSON.parse(Buffer.from(value.slice("base64-".length), "base64url").toString("utf8"));
}

/** Writes a changed session of the same length back into the same chunks. */
async function writeSession(page: Page, session: StoredSession) {
  const chunks = await sessionCookies(page);
  const value = `base64-${Buffer.from(JSON.stringify(session)).toString("base64url")}`;
  expect(value.length).toBe(chunks.reduce((n, c) => n + c.value.length, 0));
  let at = 0;
  await page.context().addCookies(
    chunks.map((c) => {
      const part = value.slice(at, at + c.value.length);
      at += c.value.length;
      return { ...c, value: part };
    }),
  );
}

test("without a session the dashboard sends you to sign in; setup points to the CLI", async ({ page }) => {
  await page.goto("/dashboard");
  await expect(page).toHaveURL(/\/sign-in$/);
  await expect(page.getByRole("link", { name: "Set up Berth" })).toHaveCount(0);

  await page.goto("/setup");
  await expect(page.getByText("This Berth signs in with Supabase Auth")).toBeVisible();
  await expect(page.getByText("npx berth members add")).toBeVisible();
  await expect(page.getByRole("button", { name: "Create account" })).toHaveCount(0);
});

test("a wrong password shows the error; the right one opens the account's dashboard", async ({ page, stack }) => {
  await signIn(page, { email: USER.email, password: "not the password" });
  await expect(page.getByTestId("form-error")).toHaveText("Wrong email or password.");
  await expect(page).toHaveURL(/\/sign-in$/);

  await signIn(page, USER);
  await expect(page).toHaveURL(/\/dashboard$/);
  await expect(page.getByRole("heading", { level: 1, name: ACCOUNT })).toBeVisible();
  await expect(page.getByTestId("account-name")).toHaveText(ACCOUNT);
  await expect(page.getByTestId("user-email")).toHaveText(USER.email);
  // The session lives in Supabase's cookies; Berth's own sign-in cookie is never set.
  const cookies = (await page.context().cookies()).map((c) => c.name);
  expect(cookies.some((name) => /^sb-.+-auth-token/.test(name))).toBe(true);
  expect(cookies).not.toContain("berth_session");
  expect(stack.fake.calls.some((c) => c.path === "/auth/v1/token?grant_type=password" && c.status === 200)).toBe(true);
});

test("the proxy refreshes an expiring session and writes the new tokens back", async ({ page, stack }) => {
  await signIn(page, USER);
  await expect(page).toHaveURL(/\/dashboard$/);
  const refreshes = () => stack.fake.calls.filter((c) => c.path === "/auth/v1/token?grant_type=refresh_token");
  // No dashboard open meanwhile: its browser client would refresh too, on its own schedule, and
  // this test counts the proxy's refreshes (exactly one: the browser gets the new cookies at once).
  await page.goto("about:blank");
  const before = refreshes().length;
  const statusesSince = () =>
    refreshes()
      .slice(before)
      .map((c) => c.status);
  const signedIn = await readSession(page);
  await writeSession(page, { ...signedIn, expires_at: signedIn.expires_at - 7200 });

  await page.goto("/dashboard");
  await expect(page.getByRole("heading", { level: 1, name: ACCOUNT })).toBeVisible();
  expect(statusesSince()).toEqual([200]);
  const refreshed = await readSession(page);
  expect(refreshed.refresh_token).not.toBe(signedIn.refresh_token);
  expect(refreshed.expires_at).toBeGreaterThan(Date.now() / 1000 + 3000);

  // The spent refresh token is gone from the browser: the next pages need no refresh at all.
  await page.reload();
  await expect(page.getByRole("heading", { level: 1, name: ACCOUNT })).toBeVisible();
  expect(statusesSince()).toEqual([200]);
});

test("installing the memory server from the catalogue: reads carry the Supabase token, the install is a server action on the Supabase session", async ({
  page,
  stack,
}) => {
  await signIn(page, USER);
  await expect(page).toHaveURL(/\/dashboard$/);
  // The dashboard's polling already goes through the API as the Supabase user, for the page's account.
  const polled = await page.waitForRequest((r) => r.url().includes("/api/mcp-connections?account_id="));
  expect(polled.headers().authorization).toMatch(/^Bearer eyJ/);
  expect(polled.headers()["berth-account"]).toBe(stack.accountId);

  await page.goto("/dashboard/catalogue");
  await page.getByRole("link", { name: "Install Memory" }).click();
  await expect(page).toHaveURL(/\/dashboard\/install\/memory$/);
  // A server action: posted to the page itself, authenticated by the Supabase session's cookies.
  const install = page.waitForRequest((r) => r.method() === "POST" && r.headers()["next-action"] !== undefined);
  await page.getByRole("button", { name: "Install", exact: true }).click();
  expect(new URL((await install).url()).pathname).toBe("/dashboard/install/memory");
  await expect(page).toHaveURL(/\/dashboard\/connections\/[0-9a-f-]{36}$/, { timeout: 30_000 });
  await expect(page.getByRole("heading", { level: 1, name: "Memory" })).toBeVisible();
  await expect(page.getByTestId("connection-status")).toHaveText("running");

  // The tool inspector (REST again) lists the server's tools.
  await expect(page.getByLabel("Tool", { exact: true })).toContainText("create_entities", { timeout: 15_000 });
});

test("the user's Supabase access token is accepted by the REST API", async ({ request, stack }) => {
  const token = await accessToken(stack.fake, USER);
  const res = await request.get("/api/mcp-connections", { headers: { authorization: `Bearer ${token}` } });
  expect(res.status()).toBe(200);
  const { data } = (await res.json()) as { data: { account_id: string; server_slug: string; status: string }[] };
  expect(data).toHaveLength(1);
  expect(data[0]).toMatchObject({ account_id: stack.accountId, server_slug: "memory", status: "running" });

  expect((await request.get("/api/mcp-connections")).status()).toBe(401);
  // A token the project did not sign is refused.
  const forged = await stack.fake.sign({ sub: stack.userId }, { key: "stranger" });
  expect((await request.get("/api/mcp-connections", { headers: { authorization: `Bearer ${forged}` } })).status()).toBe(
    401,
  );
});

test("sign-out ends the Supabase session and closes the dashboard again", async ({ page, stack }) => {
  await signIn(page, USER);
  await expect(page).toHaveURL(/\/dashboard$/);

  await page.getByRole("button", { name: "Sign out" }).click();
  await expect(page).toHaveURL(/\/sign-in$/);
  expect(stack.fake.calls.some((c) => c.path === "/auth/v1/logout?scope=local" && c.status === 204)).toBe(true);
  expect((await page.context().cookies()).filter((c) => /^sb-.+-auth-token/.test(c.name))).toEqual([]);

  await page.goto("/dashboard");
  await expect(page).toHaveURL(/\/sign-in$/);
  await page.goto("/dashboard/install/memory");
  await expect(page).toHaveURL(/\/sign-in\?next=%2Fdashboard%2Finstall%2Fmemory$/); // and back there after signing in
});

test("Berth's own session cookie opens nothing while Supabase Auth signs in", async ({ page, request, stack }) => {
  // A validly sealed built-in session for the same user and account, as one left from before the
  // switch (its session row cannot be made while Berth holds the embedded database; in this mode
  // the cookie is not even unsealed).
  const password = fs.readFileSync(path.join(stack.berth.dataDir, "session-secret"), "utf8").trim();
  const session = { sessionId: crypto.randomUUID(), userId: stack.userId, accountId: stack.accountId };
  const sealed = await sealSession(session, password);
  const headers = { cookie: `berth_session=${sealed}` };
  expect((await request.get("/api/mcp-connections", { headers })).status()).toBe(401);

  await page.context().addCookies([{ name: "berth_session", value: sealed, url: stack.berth.url }]);
  await page.goto("/dashboard");
  await expect(page).toHaveURL(/\/sign-in$/);
});

test("a Supabase user in no account is told how to get access, and can sign out", async ({ page, stack }) => {
  await signIn(page, STRANGER);
  await expect(page).toHaveURL(/\/no-account$/);
  await expect(page.getByText("Not a member of any account")).toBeVisible();
  await expect(page.getByTestId("members-add-command")).toContainText(`--user-id ${stack.strangerId}`);

  await page.goto("/dashboard");
  await expect(page).toHaveURL(/\/no-account$/);

  await page.getByRole("button", { name: "Sign out" }).click();
  await expect(page).toHaveURL(/\/sign-in$/);
});
