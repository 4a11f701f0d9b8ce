import { execFileSync } from "node:child_process";
import fs from "node:fs";
import path from "node:path";
import { expect, type Page, request, test } from "@playwright/test";

const OWNER = { account: "Acme", email: "owner@acme.test", password: "correct horse battery" };

// The first test creates the account the others sign in to: they run in order, one after another.
test.describe.configure({ mode: "serial" });

async function signIn(page: Page, password: string) {
  await page.goto("/sign-in");
  await page.getByLabel("Email").fill(OWNER.email);
  await page.getByLabel("Password").fill(password);
  await page.getByRole("button", { name: "Sign in" }).click();
}

test("first-run setup, sign out, sign in", async ({ page }) => {
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
  await expect(page.getByTestId("server-memory").getByText("Memory", { exact: true })).toBeVisible();
  await expect(page.getByText("No connections yet")).toBeVisible();
  if (process.env.E2E_SCREENSHOT) await page.screenshot({ path: process.env.E2E_SCREENSHOT, fullPage: true });

  // Setup is for the first run only.
  await page.goto("/setup");
  await expect(page).toHaveURL(/\/dashboard$/);

  await page.getByRole("button", { name: "Sign out" }).click();
  await expect(page).toHaveURL(/\/sign-in$/);
  await page.goto("/dashboard");
  await expect(page).toHaveURL(/\/sign-in$/);

  await signIn(page, "not the password");
  await expect(page.getByTestId("form-error")).toHaveText("Wrong email or password.");
  await expect(page).toHaveURL(/\/sign-in$/);

  await signIn(page, OWNER.password);
  await expect(page).toHaveURL(/\/dashboard$/);
  await expect(page.getByRole("heading", { level: 1, name: OWNER.account })).toBeVisible();
});

test("the session cookie authenticates the REST API", async ({ page, baseURL }) => {
  await signIn(page, OWNER.password);
  await expect(page).toHaveURL(/\/dashboard$/);

  const res = await page.request.get("/api/mcp-connections");
  expect(res.status()).toBe(200);
  expect(await res.json()).toEqual({ data: [] });

  const anonymous = await request.newContext({ baseURL });
  const denied = await anonymous.get("/api/mcp-connections");
  expect(denied.status()).toBe(401);
  expect((await denied.json()).error.code).toBe("unauthorized");
  await anonymous.dispose();
});

test("the session cookie reaches the tool inspector and the MCP endpoint", async ({ page, baseURL }) => {
  await signIn(page, OWNER.password);
  // The dashboard polls its account's connections; that request names the account.
  const polled = await page.waitForRequest((r) => r.url().includes("/api/mcp-connections?account_id="));
  const accountId = new URL(polled.url()).searchParams.get("account_id");

  const installed = await page.request.post("/api/mcp-connections/install", {
    data: { account_id: accountId, server_id: "everything" },
  });
  expect(installed.status()).toBe(201);
  const conn = (await installed.json()).data;
  expect(conn.status).toBe("running");

  const tools = await page.request.get(`/api/mcp-connections/${conn.id}/tools`);
  expect((await tools.json()).data.map((t: { name: string }) => t.name)).toContain("echo");
  const echoed = await page.request.post(`/api/mcp-connections/${conn.id}/tools/call`, {
    data: { name: "echo", arguments: { message: "from the browser" } },
  });
  expect(JSON.stringify((await echoed.json()).data.content)).toContain("from the browser");

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
  expect((await anonymous.get(`/api/mcp-connections/${conn.id}/tools`)).status()).toBe(401);
  expect((await anonymous.post(`/api/mcp/${conn.id}`, { data: initialize, headers })).status()).toBe(401);
  await anonymous.dispose();
});

test("a connection's page: status, extend, tool inspector, agent config, events, restart and delete", async ({
  page,
}) => {
  await signIn(page, OWNER.password);
  const polled = await page.waitForRequest((r) => r.url().includes("/api/mcp-connections?account_id="));
  const accountId = new URL(polled.url()).searchParams.get("account_id");
  const installed = await page.request.post("/api/mcp-connections/install", {
    data: { account_id: accountId, server_id: "everything", name: "Inspector demo" },
  });
  const conn = (await installed.json()).data;

  await page.reload();
  await page.getByRole("link", { name: "Inspector demo" }).click();
  await expect(page).toHaveURL(new RegExp(`/dashboard/connections/${conn.id}$`));
  await expect(page.getByRole("heading", { level: 1, name: "Inspector demo" })).toBeVisible();
  await expect(page.getByTestId("connection-status")).toHaveText("running");

  const expires = page.getByTestId("connection-expires");
  const before = await expires.getAttribute("datetime");
  await page.waitForTimeout(1100); // so the new expiry is a later second
  await page.getByRole("button", { name: "Extend" }).click();
  await expect(expires).not.toHaveAttribute("datetime", before as string);
  await expect(page.getByTestId("event-timeline")).toContainText("extended");

  await page.getByLabel("Tool").selectOption("echo");
  const args = page.getByLabel("Arguments (JSON)");
  await expect(args).toHaveValue(/"message": ""/); // the required argument, to fill in
  await args.fill("{not json");
  await page.getByRole("button", { name: "Call" }).click();
  await expect(page.getByText("The arguments are not valid JSON.")).toBeVisible();
  await args.fill('{"message": "hello from the inspector"}');
  await page.getByRole("button", { name: "Call" }).click();
  await expect(page.getByTestId("tool-result")).toContainText("hello from the inspector");
  // Audited like an agent's call (events are written once a second; the page polls every 5 s).
  await expect(page.getByTestId("event-timeline")).toContainText("echo · ok", { timeout: 15_000 });
  await expect(page.getByTestId("client-config")).toContainText(`/api/mcp/${conn.id}`);

  await page.getByRole("button", { name: "Restart" }).click();
  await expect(page.getByTestId("event-timeline")).toContainText("restarted");
  await expect(page.getByTestId("connection-status")).toHaveText("running", { timeout: 30_000 });

  page.once("dialog", (dialog) => void dialog.accept());
  await page.getByRole("button", { name: "Delete" }).click();
  await expect(page).toHaveURL(/\/dashboard$/);
  await expect(page.getByRole("link", { name: "Inspector demo" })).toHaveCount(0);
  expect((await page.request.get(`/api/mcp-connections/${conn.id}`)).status()).toBe(404);
});

test("installing from the catalogue: the credential form, a test run, then the connection's page", async ({ page }) => {
  const token = "ghp_e2e-not-a-real-token-0123456789";
  await signIn(page, OWNER.password);
  await page.getByTestId("server-github").getByRole("link", { name: "Install" }).click();
  await expect(page).toHaveURL(/\/dashboard\/install\/github$/);
  await expect(page.getByRole("heading", { level: 1, name: "Install GitHub" })).toBeVisible();

  // The API checks the credentials against the server's schema; its message shows by the field.
  await page.getByRole("button", { name: "Install", exact: true }).click();
  await expect(page.getByTestId("error-GITHUB_PERSONAL_ACCESS_TOKEN")).toHaveText("Required.");

  const field = page.getByLabel("Personal access token");
  await expect(field).toHaveAttribute("type", "password");
  await field.fill(token);
  await page.getByRole("button", { name: "Test first" }).click();
  await expect(page.getByTestId("dry-run-result")).toContainText("create_or_update_file", { timeout: 30_000 });

  await page.getByRole("button", { name: "Install", exact: true }).click();
  await expect(page).toHaveURL(/\/dashboard\/connections\/[0-9a-f-]{36}$/, { timeout: 30_000 });
  await expect(page.getByRole("heading", { level: 1, name: "GitHub" })).toBeVisible();
  await expect(page.getByTestId("connection-status")).toHaveText("running");
  expect(await page.content()).not.toContain(token); // write-only
});

test("a failed test run shows the server's own stderr, and the page keeps working", async ({ page }) => {
  // A catalogue entry whose server refuses its credentials at start, added with the CLI.
  const file = path.join(process.env.E2E_BERTH_DATA_DIR as string, "refuses.json");
  const start = `node -e "console.error('the token was refused by upstream'); process.exit(3)"`;
  const schema = { type: "object", required: ["TOKEN"], properties: { TOKEN: { type: "string", writeOnly: true } } };
  fs.writeFileSync(
    file,
    JSON.stringify({ slug: "refuses", title: "Refuses", start_command: start, credential_schema: schema }),
  );
  execFileSync(process.execPath, ["bin/berth.mjs", "servers", "add", "--file", file, "--json"], {
    env: { ...process.env, BERTH_DATA_DIR: process.env.E2E_BERTH_DATA_DIR },
  });

  await signIn(page, OWNER.password);
  await expect(page).toHaveURL(/\/dashboard$/);
  await page.goto("/dashboard/install/refuses");
  await page.getByLabel("TOKEN").fill("not-a-good-token");
  await page.getByRole("button", { name: "Test first" }).click();
  // (Next keeps a hidden role=alert of its own, the route announcer.)
  await expect(page.getByRole("alert").filter({ hasText: "The server did not start" })).toBeVisible({
    timeout: 30_000,
  });
  await expect(page.getByTestId("dry-run-stderr")).toContainText("the token was refused by upstream");
  await expect(page.getByRole("heading", { level: 1, name: "Install Refuses" })).toBeVisible();
});
