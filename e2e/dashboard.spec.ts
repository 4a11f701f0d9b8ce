import { expect, request, test } from "@playwright/test";
import {
  accountId,
  addDefinition,
  berthCli,
  DESKTOP,
  expectAccessible,
  expectNoHorizontalScroll,
  firstLoadJsKiB,
  OWNER,
  PHONE,
  screenshot,
  signIn,
} from "./support";

// The first test creates the account the others sign in to: they run in order, one after another
// (one worker), and a failure does not stop the others.

test("first-run setup; sign-out revokes the session; sign-in returns to the page asked for", async ({
  page,
  browser,
  baseURL,
}) => {
  await page.goto("/");
  await expect(page).toHaveURL(/\/sign-in$/);
  await page.getByRole("link", { name: "Set up Berth" }).click();
  await expect(page).toHaveURL(/\/setup$/);
  await page.getByLabel("Account name").fill(OWNER.account);
  await page.getByLabel("Your email").fill(OWNER.email);
  await page.getByLabel("Password").fill(OWNER.password);
  await page.getByRole("button", { name: "Create account" }).click();

  await expect(page).toHaveURL(/\/dashboard$/);
  await expect(page.getByRole("heading", { level: 1, name: OWNER.account })).toBeVisible();
  await expect(page.getByTestId("user-email")).toHaveText(OWNER.email);
  await expect(page.getByText("No connections yet")).toBeVisible();
  await page.goto("/setup"); // for the first run only
  await expect(page).toHaveURL(/\/dashboard$/);

  // A copy of the session cookie, as a stolen one would be.
  const copy = (await page.context().cookies()).find((c) => c.name === "berth_session");
  expect(copy).toBeDefined();
  await page.getByRole("button", { name: "Sign out" }).click();
  await expect(page).toHaveURL(/\/sign-in$/);

  const thief = await browser.newContext({ baseURL });
  await thief.addCookies([{ ...(copy as NonNullable<typeof copy>) }]);
  const stolen = await thief.newPage();
  await stolen.goto("/dashboard");
  await expect(stolen).toHaveURL(/\/sign-in/);
  const api = await request.newContext({ baseURL, extraHTTPHeaders: { cookie: `berth_session=${copy?.value}` } });
  expect((await api.get("/api/mcp-connections")).status()).toBe(401);
  await api.dispose();
  await thief.close();

  await page.goto("/dashboard/api-keys");
  await expect(page).toHaveURL(/\/sign-in\?next=%2Fdashboard%2Fapi-keys$/);
  await page.getByLabel("Email").fill(OWNER.email);
  await page.getByLabel("Password").fill("not the password");
  await page.getByRole("button", { name: "Sign in" }).click();
  await expect(page.getByTestId("form-error")).toHaveText("Wrong email or password.");
  await page.getByLabel("Password").fill(OWNER.password);
  await page.getByRole("button", { name: "Sign in" }).click();
  await expect(page).toHaveURL(/\/dashboard\/api-keys$/);
  await expect(page.getByRole("heading", { level: 1, name: "API keys" })).toBeVisible();
});

test("the session cookie authenticates the REST API and the MCP endpoint; nothing without it", async ({
  page,
  baseURL,
}) => {
  await signIn(page);
  await expect(page).toHaveURL(/\/dashboard$/);
  const installed = await page.request.post("/api/mcp-connections/install", {
    data: { account_id: await accountId(page), server_id: "everything", name: "Cookie demo" },
  });
  expect(installed.status()).toBe(201);
  const conn = (await installed.json()).data;
  const initialize = {
    jsonrpc: "2.0",
    id: 1,
    method: "initialize",
    params: { protocolVersion: "2025-06-18", capabilities: {}, clientInfo: { name: "browser", version: "1" } },
  };
  const headers = { accept: "application/json, text/event-stream" };
  const mcp = await page.request.post(`/api/mcp/${conn.id}`, { data: initialize, headers });
  expect(mcp.status()).toBe(200);
  expect((await mcp.json()).result.serverInfo).toBeDefined();

  const anonymous = await request.newContext({ baseURL });
  expect((await anonymous.get("/api/mcp-connections")).status()).toBe(401);
  expect((await anonymous.post(`/api/mcp/${conn.id}`, { data: initialize, headers })).status()).toBe(401);
  await anonymous.dispose();
  // A change with the cookie alone must show its origin (or be JSON): what a cross-site form cannot.
  const url = `/api/mcp-connections/${conn.id}`;
  expect((await page.request.delete(url)).status()).toBe(415);
  expect((await page.request.delete(url, { headers: { origin: new URL(page.url()).origin } })).status()).toBe(200);
});

test("the catalogue: search, filters, installed marker, named install links", async ({ page }) => {
  await signIn(page);
  await page.getByRole("navigation", { name: "Dashboard" }).getByRole("link", { name: "Catalogue" }).click();
  await expect(page.getByRole("heading", { level: 1, name: "Catalogue" })).toBeVisible();
  const memory = page.getByTestId("server-memory");
  await expect(memory).toContainText("Built in");
  await expect(memory).not.toContainText("Installed");

  await page.getByLabel("Search the catalogue").fill("knowledge graph");
  await expect(page.getByTestId(/^server-/)).toHaveCount(1);
  await page.getByLabel("Search the catalogue").fill("");
  await page.getByRole("button", { name: "Needs credentials" }).click();
  await expect(page.getByTestId("server-github")).toBeVisible();
  await expect(memory).toHaveCount(0);
  await page.getByRole("button", { name: "All", exact: true }).click();

  await page.getByRole("link", { name: "Install Memory" }).click();
  await expect(page).toHaveURL(/\/dashboard\/install\/memory$/);
  await page.getByRole("button", { name: "Install", exact: true }).click();
  await expect(page).toHaveURL(/\/dashboard\/connections\/[0-9a-f-]{36}$/, { timeout: 30_000 });
  await page.goto("/dashboard/catalogue");
  await expect(memory).toContainText("Installed");
  await page.getByRole("button", { name: "Installed", exact: true }).click();
  await expect(page.getByTestId(/^server-/)).toHaveCount(1);
});

test("an operator adds a server, its install form previewed, then edits and removes it", async ({ page }) => {
  await signIn(page); // first-run setup made this owner an operator
  await page.goto("/dashboard/catalogue");
  await expect(page.getByTestId("server-memory").getByTestId("card-tools")).toContainText("9 tools");
  await page.getByRole("link", { name: "Add a server" }).click();
  await expect(page).toHaveURL(/\/dashboard\/catalogue\/new$/);
  await page.getByLabel("Title").fill("Weather Desk");
  await expect(page.getByLabel("Slug")).toHaveValue("weather-desk");
  await page.getByLabel("Start command").fill("npx -y weather-desk-mcp@1.2.0");
  await page.getByLabel("Tools").fill("forecast\nalerts");

  // The preview follows the schema as it is typed; JSON that does not parse never leaves the page.
  const schema = page.getByLabel("Credential schema (JSON Schema)");
  const preview = page.getByTestId("install-preview");
  await schema.fill('{"type": "object", "properties": {');
  await expect(preview).toContainText("Not JSON yet");
  await page.getByRole("button", { name: "Add to catalogue" }).click();
  await expect(schema).toHaveAttribute("aria-invalid", "true");
  await expect(schema).toBeFocused();
  await expect(page.locator("#definition-schema-error")).toContainText("Not valid JSON");

  // Valid JSON that is not a credential schema: Berth's own validation, shown at the field.
  await schema.fill('{"type": "array"}');
  await page.getByRole("button", { name: "Add to catalogue" }).click();
  await expect(page.locator("#definition-schema-error")).toContainText("type");
  await expect(schema).toBeFocused();

  await schema.fill(
    JSON.stringify({
      type: "object",
      properties: {
        WEATHER_TOKEN: { title: "Weather token", description: "From the provider's console.", writeOnly: true },
        REGION: { title: "Region" },
      },
      required: ["WEATHER_TOKEN"],
    }),
  );
  await expect(preview.getByLabel("Weather token")).toHaveAttribute("type", "password");
  await expect(preview.getByLabel("Region")).toHaveAttribute("type", "text");
  await expect(preview.getByText("From the provider's console.")).toBeVisible();
  await page.getByLabel("Credential check (JSON)").fill('{"tool": "whoami"}');
  await page.getByRole("button", { name: "Add to catalogue" }).click();
  await expect(page.locator("#definition-check-error")).toContainText("Not among the tools it declares");
  await page.getByLabel("Credential check (JSON)").fill('{"tool": "alerts", "arguments": {"limit": 1}}');
  await expectAccessible(page, "add a server");
  await page.getByRole("button", { name: "Add to catalogue" }).click();

  await expect(page).toHaveURL(/\/dashboard\/catalogue$/);
  await expect(page.getByText("Added “Weather Desk” to the catalogue.")).toBeVisible();
  const card = page.getByTestId("server-weather-desk");
  await expect(card).toContainText("Operator-added");
  await expect(card).toContainText("Needs credentials");
  await card.getByText("2 tools").click();
  await expect(card.getByRole("listitem")).toHaveText(["forecast", "alerts"]);
  const served = await page.request.get("/api/mcp-server-definitions/weather-desk");
  expect((await served.json()).data).toMatchObject({
    tools: ["forecast", "alerts"],
    check: { tool: "alerts", arguments: { limit: 1 } },
  });

  await page.getByRole("link", { name: "Edit Weather Desk" }).click();
  await expect(page.getByLabel("Slug")).toHaveAttribute("readonly", "");
  await page.getByLabel("Description").fill("Forecasts and alerts for any city.");
  await page.getByRole("button", { name: "Save changes" }).click();
  await expect(page.getByText("Saved “Weather Desk”.")).toBeVisible();
  await expect(card).toContainText("Forecasts and alerts for any city.");

  await page.getByRole("link", { name: "Edit Weather Desk" }).click();
  page.once("dialog", (dialog) => dialog.accept());
  await page.getByRole("button", { name: "Remove from catalogue" }).click();
  await expect(page.getByText("Removed “Weather Desk” from the catalogue.")).toBeVisible();
  await expect(card).toHaveCount(0);
  expect((await page.request.get("/api/mcp-server-definitions/weather-desk")).status()).toBe(404);
});

test("Test connection: a bad token is refused with the server's message, a good one is checked", async ({ page }) => {
  // The fixture's check calls `whoami`, which fails unless TOKEN is the good one (offline).
  const fixture = JSON.parse(
    (await import("node:fs")).readFileSync("tests/fixtures/checked-server.json", "utf8"),
  ) as Record<string, unknown>;
  addDefinition(fixture);
  await signIn(page);
  await page.goto("/dashboard/install/checked-fixture");
  await expect(page.getByRole("heading", { level: 1, name: "Install Checked fixture" })).toBeVisible();

  // Required, and marked so; the error is tied to the field and focus moves there.
  await page.getByRole("button", { name: "Install", exact: true }).click();
  const token = page.getByLabel("Token");
  await expect(token).toHaveAttribute("aria-invalid", "true");
  await expect(token).toBeFocused();
  await expect(page.locator("#credential-TOKEN-error")).toBeVisible();

  await token.fill("a-wrong-token");
  await page.getByRole("button", { name: "Test connection" }).click();
  const error = page.getByTestId("install-error");
  await expect(error).toContainText("Bad credentials: token rejected", { timeout: 30_000 });
  await expect(error).toContainText("whoami");
  await expect(page.getByRole("heading", { level: 1, name: "Install Checked fixture" })).toBeVisible();
  await expectAccessible(page, "install page with a failed check");

  await token.fill("good-fixture-token");
  await page.getByRole("button", { name: "Test connection" }).click();
  await expect(page.getByTestId("dry-run-result")).toContainText("Credentials checked: whoami succeeded", {
    timeout: 30_000,
  });

  // A server without a check says its credentials were not checked.
  await page.goto("/dashboard/install/memory");
  await page.getByRole("button", { name: "Test connection" }).click();
  await expect(page.getByTestId("dry-run-result")).toContainText("The credentials were not checked", {
    timeout: 30_000,
  });
});

test("a failed test run shows the server's own stderr, and the page keeps working", async ({ page }) => {
  const start = `node -e "console.error('the token was refused by upstream'); process.exit(3)"`;
  const schema = { type: "object", required: ["TOKEN"], properties: { TOKEN: { type: "string", writeOnly: true } } };
  addDefinition({ slug: "refuses", title: "Refuses", start_command: start, credential_schema: schema });

  await signIn(page);
  await page.goto("/dashboard/install/refuses");
  await page.getByLabel("TOKEN").fill("not-a-good-token");
  await page.getByRole("button", { name: "Test connection" }).click();
  await expect(page.getByTestId("install-error")).toContainText("The server did not start", { timeout: 30_000 });
  await expect(page.getByTestId("dry-run-stderr")).toContainText("the token was refused by upstream");
  await expect(page.getByRole("heading", { level: 1, name: "Install Refuses" })).toBeVisible();

  // Installed anyway, it fails: the card says so, with the server's stderr, without a crash.
  await page.getByRole("button", { name: "Install", exact: true }).click();
  await expect(page).toHaveURL(/\/dashboard\/connections\/[0-9a-f-]{36}$/, { timeout: 30_000 });
  await expect(page.getByTestId("connection-status")).toHaveText("failed", { timeout: 30_000 });
  await expect(page.getByTestId("deploy-progress")).toContainText("The server did not start");
  await expect(page.getByTestId("deploy-stderr")).toContainText("the token was refused by upstream");

  // New credentials, from the connection's page: it redeploys with them (and fails again, truthfully).
  await page.getByLabel("TOKEN").fill("another-token");
  await page.getByRole("button", { name: "Replace and redeploy" }).click();
  await expect(page.getByText("Credentials replaced")).toBeVisible({ timeout: 30_000 });
  await expect(page.getByTestId("event-timeline")).toContainText("credentials_updated");
  await expect(page.getByTestId("connection-status")).toHaveText("failed", { timeout: 30_000 });
  expect(await page.content()).not.toContain("another-token"); // write-only
});

test("a connection's card: live status, ticking countdown, extend with a toast and kept focus, keep-alive, restart, agent snippets, delete", async ({
  page,
  context,
}) => {
  await context.grantPermissions(["clipboard-read", "clipboard-write"]);
  await signIn(page);
  await expect(page).toHaveURL(/\/dashboard$/);
  const installed = await page.request.post("/api/mcp-connections/install", {
    data: { account_id: await accountId(page), server_id: "everything", name: "Card demo" },
  });
  expect(installed.status()).toBe(201);
  const conn = (await installed.json()).data;

  await page.reload();
  await page.getByRole("link", { name: "Card demo" }).click();
  await expect(page.getByRole("heading", { level: 1, name: "Card demo" })).toBeVisible();
  await expect(page.getByTestId("connection-status")).toHaveText("running");

  // The countdown ticks.
  const expires = page.getByTestId("connection-expires");
  await expect(expires).toHaveText(/^expires in \d+:\d\d(:\d\d)?$/);
  const first = await expires.textContent();
  await expect(expires).not.toHaveText(first as string, { timeout: 3_000 });

  // +15 min: the expiry moves at once, a toast confirms, focus stays on the button.
  const before = Date.parse((await expires.getAttribute("datetime")) as string);
  const plus15 = page.getByRole("button", { name: "+15 min" });
  await plus15.focus();
  await page.keyboard.press("Enter");
  await expect(page.getByText(/^Extended: now expires/)).toBeVisible();
  await expect(plus15).toBeFocused();
  const after = Date.parse((await expires.getAttribute("datetime")) as string);
  expect(after - before).toBeGreaterThanOrEqual(14 * 60_000);
  await expect(page.getByTestId("event-timeline")).toContainText("extended");
  // A custom amount that is not a whole number of minutes is refused by the field.
  await page.getByLabel("Minutes").fill("abc");
  await page.getByRole("button", { name: "Extend", exact: true }).click();
  await expect(page.getByText("Whole minutes from 1 to 1440.")).toBeVisible();

  // A change made elsewhere (the REST API) shows within two seconds, without a reload.
  const origin = new URL(page.url()).origin;
  const patched = await page.request.patch(`/api/mcp-connections/${conn.id}`, {
    data: { keep_alive: false },
    headers: { origin },
  });
  expect(patched.status()).toBe(200);
  const keepAlive = page.getByRole("switch", { name: "Keep alive" });
  await expect(keepAlive).not.toBeChecked({ timeout: 2_500 });
  await keepAlive.check();
  await expect(page.getByText("Keep-alive on.")).toBeVisible();
  expect((await (await page.request.get(`/api/mcp-connections/${conn.id}`)).json()).data.keep_alive).toBe(true);

  // Restart shows Deploying (however briefly: every status the badge shows is recorded), then Running.
  await page.getByTestId("connection-status").evaluate((badge) => {
    const seen: string[] = [];
    (window as unknown as { statuses: string[] }).statuses = seen;
    new MutationObserver(() => seen.push(badge.textContent ?? "")).observe(badge, {
      subtree: true,
      childList: true,
      characterData: true,
    });
  });
  await page.getByRole("button", { name: "Restart" }).click();
  await expect(page.getByText("Restarting in a new sandbox.")).toBeVisible({ timeout: 30_000 });
  await expect(page.getByTestId("connection-status")).toHaveText("running", { timeout: 30_000 });
  expect(await page.evaluate(() => (window as unknown as { statuses: string[] }).statuses)).toContain("deploying");
  await expect(page.getByTestId("event-timeline")).toContainText("restarted");

  // Copy the MCP URL; each client's snippet; a key made in place fills them in.
  await page.getByRole("button", { name: "Copy MCP URL" }).click();
  expect(await page.evaluate(() => navigator.clipboard.readText())).toBe(conn.mcp_url);
  for (const [client, text] of [
    ["Claude Desktop", "mcp-remote"],
    ["Claude Code", "claude mcp add --transport http"],
    ["Cursor", '"url"'],
    ["VS Code", '"servers"'],
    ["Windsurf", '"serverUrl"'],
    ["TypeScript SDK", "StreamableHTTPClientTransport"],
    ["Python SDK", "streamablehttp_client"],
  ]) {
    await page.getByRole("button", { name: client, exact: true }).click();
    await expect(page.getByTestId("client-config")).toContainText(text as string);
    await expect(page.getByTestId("client-config")).toContainText(`/api/mcp/${conn.id}`);
  }
  await page.getByRole("button", { name: "Create a key for this" }).click();
  await expect(page.getByTestId("client-config")).toContainText("berth_", { timeout: 10_000 });
  const key = ((await page.getByTestId("client-config").textContent()) ?? "").match(/berth_[A-Za-z0-9_-]+/)?.[0];
  expect(key).toBeDefined();
  // An agent's key: the MCP endpoint takes it, the REST API does not.
  const initialize = {
    jsonrpc: "2.0",
    id: 1,
    method: "initialize",
    params: { protocolVersion: "2025-06-18", capabilities: {}, clientInfo: { name: "card", version: "1" } },
  };
  const onMcp = await page.request.post(`/api/mcp/${conn.id}`, {
    headers: { authorization: `Bearer ${key}`, cookie: "", accept: "application/json, text/event-stream" },
    data: initialize,
  });
  expect(onMcp.status()).toBe(200);
  const onRest = await page.request.get(`/api/mcp-connections/${conn.id}`, {
    headers: { authorization: `Bearer ${key}`, cookie: "" },
  });
  expect(onRest.status()).toBe(403);

  await expectAccessible(page, "connection page");
  page.once("dialog", (dialog) => void dialog.accept());
  await page.getByRole("button", { name: "Delete" }).click();
  await expect(page).toHaveURL(/\/dashboard$/);
  await expect(page.getByRole("link", { name: "Card demo" })).toHaveCount(0);
  expect((await page.request.get(`/api/mcp-connections/${conn.id}`)).status()).toBe(404);
});

test("API keys: created and shown once with copy, revoked, and then refused by the REST API at once", async ({
  page,
  context,
  baseURL,
}) => {
  await context.grantPermissions(["clipboard-read", "clipboard-write"]);
  await signIn(page);
  await page.goto("/dashboard/api-keys");
  await page.getByLabel("Name").fill("ci robot");
  await page.getByLabel("The REST API too, as an admin").check(); // keys made here are agents' (MCP only) unless asked
  await page.getByRole("button", { name: "Create key" }).click();
  const value = page.getByTestId("new-key-value");
  await expect(value).toHaveText(/^berth_/);
  const key = (await value.textContent()) as string;
  await page.getByRole("button", { name: "Copy the new API key" }).click();
  expect(await page.evaluate(() => navigator.clipboard.readText())).toBe(key);

  const agent = await request.newContext({ baseURL, extraHTTPHeaders: { authorization: `Bearer ${key}` } });
  expect((await agent.get("/api/mcp-connections")).status()).toBe(200);
  await page.reload();
  const row = page.getByTestId("api-keys").getByRole("listitem").filter({ hasText: "ci robot" });
  await expect(row).toContainText(key.slice(0, 8));
  await expect(row).toContainText("REST API and MCP");
  await expect(row).not.toContainText("last used never"); // it was just used
  page.once("dialog", (dialog) => void dialog.accept());
  await row.getByRole("button", { name: "Revoke ci robot" }).click();
  await expect(page.getByText(/Revoked “ci robot”/)).toBeVisible();
  const refused = await agent.get("/api/mcp-connections");
  expect(refused.status()).toBe(401);
  expect((await refused.json()).error.code).toBe("unauthorized");
  await agent.dispose();
  await expectAccessible(page, "API keys page");
});

test("members: an invited member joins by link, and cannot install, delete or manage keys", async ({
  page,
  browser,
  baseURL,
}) => {
  await signIn(page);
  await page.goto("/dashboard/members");
  await page.getByLabel("Email").fill("member@acme.test");
  await page.getByLabel("Role", { exact: true }).selectOption("member");
  await page.getByRole("button", { name: "Invite" }).click();
  const link = (await page.getByTestId("invite-url").textContent()) as string;
  expect(link).toMatch(/\/invite\/.+/);
  await expect(page.getByTestId("members")).toContainText("Invited, not joined yet");
  await expectAccessible(page, "members page");

  const memberContext = await browser.newContext({ baseURL });
  const member = await memberContext.newPage();
  await member.goto(link);
  await expect(member.getByRole("heading", { level: 1, name: `Join ${OWNER.account}` })).toBeVisible();
  await member.getByLabel("New password").fill("member password 1");
  await member.getByRole("button", { name: "Join" }).click();
  await expect(member).toHaveURL(/\/dashboard$/);
  await expect(member.getByTestId("user-email")).toHaveText("member@acme.test");
  await expect(member.getByTestId("user-role")).toHaveText("member");
  await member.goto(link); // used up
  await expect(member.getByRole("heading", { level: 1, name: "This invite does not work" })).toBeVisible();

  // Hidden in the UI…
  await member.goto("/dashboard/catalogue");
  await expect(member.getByRole("link", { name: "Install Memory" })).toHaveCount(0);
  await member.goto("/dashboard/install/memory");
  await expect(member.getByText("Members cannot install servers")).toBeVisible();
  // The catalogue is the operators' (the owner is one), not the accounts'.
  await member.goto("/dashboard/catalogue");
  await expect(member.getByRole("link", { name: "Add a server" })).toHaveCount(0);
  await expect(member.getByRole("link", { name: "Edit Memory" })).toHaveCount(0);
  await member.goto("/dashboard/catalogue/memory/edit");
  await expect(member.getByText("Only operators change the catalogue")).toBeVisible();
  await member.goto("/dashboard/api-keys");
  await expect(member.getByText("Only owners and admins manage API keys")).toBeVisible();
  // …and refused by the services behind REST, whatever the UI shows.
  const origin = new URL(baseURL as string).origin;
  const install = await member.request.post("/api/mcp-connections/install", {
    data: { account_id: await accountId(member), server_id: "memory" },
    headers: { origin },
  });
  expect(install.status()).toBe(403);
  expect((await member.request.post("/api/api-keys", { data: { name: "x" }, headers: { origin } })).status()).toBe(403);
  await memberContext.close();

  await page.reload();
  await expect(page.getByTestId("members")).not.toContainText("Invited, not joined yet");
});

test("settings: the account's name and the default lifetime of new connections", async ({ page }) => {
  await signIn(page);
  await page.goto("/dashboard/settings");
  await page.getByLabel("Default lifetime of new connections (minutes)").fill("0.5");
  await page.getByRole("button", { name: "Save" }).click();
  const timeout = page.getByLabel("Default lifetime of new connections (minutes)");
  await expect(timeout).toHaveAttribute("aria-invalid", "true");
  await expect(timeout).toBeFocused();
  await timeout.fill("20");
  await page.getByRole("button", { name: "Save" }).click();
  await expect(page.getByText("Settings saved.")).toBeVisible();
  const account = await page.request.get("/api/account");
  expect((await account.json()).data.default_timeout).toBe(1200);
});

test("a missing connection or page: not-found with a way back", async ({ page }) => {
  await signIn(page);
  await page.goto("/dashboard/connections/00000000-0000-4000-8000-000000000000");
  await expect(page.getByRole("heading", { level: 1, name: "Not found" })).toBeVisible();
  await page.getByRole("link", { name: "Back to connections" }).click();
  await expect(page).toHaveURL(/\/dashboard$/);
  await page.goto("/dashboard/connections/not-an-id");
  await expect(page.getByRole("heading", { level: 1, name: "Not found" })).toBeVisible();
});

const PAGES = [
  ["connections", "/dashboard"],
  ["catalogue", "/dashboard/catalogue"],
  ["install", "/dashboard/install/github"],
  ["api-keys", "/dashboard/api-keys"],
  ["members", "/dashboard/members"],
  ["settings", "/dashboard/settings"],
  ["add-server", "/dashboard/catalogue/new"],
  ["edit-server", "/dashboard/catalogue/github/edit"],
] as const;

for (const scheme of ["light", "dark"] as const) {
  for (const [device, viewport] of [
    ["desktop", DESKTOP],
    ["phone", PHONE],
  ] as const) {
    test(`every page in ${scheme} on a ${device}: accessible, no horizontal scroll, screenshots`, async ({ page }) => {
      await page.setViewportSize(viewport);
      await page.emulateMedia({ colorScheme: scheme });
      await signIn(page);
      await expect(page).toHaveURL(/\/dashboard$/);
      // One connection, so the connection page is part of the tour.
      const installed = await page.request.post("/api/mcp-connections/install", {
        data: { account_id: await accountId(page), server_id: "memory", name: `Tour ${scheme} ${device}` },
      });
      const conn = (await installed.json()).data;
      for (const [name, url] of [...PAGES, ["connection", `/dashboard/connections/${conn.id}`]]) {
        await page.goto(url);
        await expect(page.locator("main h1").first()).toBeVisible();
        const dark = await page.evaluate(() => document.documentElement.classList.contains("dark"));
        expect(dark, `${name} follows the ${scheme} colour scheme`).toBe(scheme === "dark");
        await expectNoHorizontalScroll(page, `${name} (${scheme}, ${device})`);
        await expectAccessible(page, `${name} (${scheme}, ${device})`);
        await screenshot(page, `${name}-${device}-${scheme}`);
      }
      await page.request.delete(`/api/mcp-connections/${conn.id}`, { headers: { origin: new URL(page.url()).origin } });
    });
  }
}

test("first-load JavaScript of every page stays within 200 KiB gzip", async ({ page, browser, baseURL }) => {
  await signIn(page);
  const installed = await page.request.post("/api/mcp-connections/install", {
    data: { account_id: await accountId(page), server_id: "memory", name: "Weighed" },
  });
  const conn = (await installed.json()).data;
  const sizes: Record<string, number> = {};
  for (const [name, url] of [...PAGES, ["connection", `/dashboard/connections/${conn.id}`]]) {
    // A fresh tab each time (nothing cached), with the session's cookies.
    const fresh = await browser.newContext({ baseURL, storageState: await page.context().storageState() });
    sizes[name] = await firstLoadJsKiB(await fresh.newPage(), url);
    await fresh.close();
  }
  const signedOut = await browser.newContext({ baseURL });
  sizes["sign-in"] = await firstLoadJsKiB(await signedOut.newPage(), "/sign-in");
  await signedOut.close();
  console.log(`first-load JS (KiB gzip): ${JSON.stringify(sizes)}`);
  test.info().annotations.push({ type: "first-load JS (KiB gzip)", description: JSON.stringify(sizes) });
  for (const [name, kib] of Object.entries(sizes)) expect(kib, name).toBeLessThanOrEqual(200);
  await page.request.delete(`/api/mcp-connections/${conn.id}`, { headers: { origin: new URL(page.url()).origin } });
});

test("the theme toggle overrides the system's colour scheme", async ({ page }) => {
  await page.emulateMedia({ colorScheme: "light" });
  await signIn(page);
  const html = page.locator("html");
  await expect(html).not.toHaveClass(/dark/);
  await page.getByRole("button", { name: /^Colour scheme: system/ }).click(); // → light
  await page.getByRole("button", { name: /^Colour scheme: light/ }).click(); // → dark
  await expect(html).toHaveClass(/dark/);
  await page.reload();
  await expect(html).toHaveClass(/dark/);
  await page.getByRole("button", { name: /^Colour scheme: dark/ }).click(); // → system
  await expect(html).not.toHaveClass(/dark/);
});

test("a user of two accounts switches between them", async ({ page }) => {
  // The owner becomes the owner of a second account too (an existing user keeps their password).
  berthCli(["accounts", "create", "--name", "Beta", "--owner-email", OWNER.email]);
  await signIn(page);
  await expect(page.getByRole("heading", { level: 1, name: OWNER.account })).toBeVisible();
  await page.getByTestId("account-switcher").selectOption({ label: "Beta (owner)" });
  await expect(page.getByRole("heading", { level: 1, name: "Beta" })).toBeVisible();
  await expect(page.getByText("No connections yet")).toBeVisible();
  expect((await (await page.request.get("/api/account")).json()).data.name).toBe("Beta");
  await page.getByTestId("account-switcher").selectOption({ label: `${OWNER.account} (owner)` });
  await expect(page.getByRole("heading", { level: 1, name: OWNER.account })).toBeVisible();
});
