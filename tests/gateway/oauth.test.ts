import path from "node:path";
import type { OAuthClientProvider } from "@modelcontextprotocol/sdk/client/auth.js";
import { UnauthorizedError } from "@modelcontextprotocol/sdk/client/auth.js";
import { Client } from "@modelcontextprotocol/sdk/client/index.js";
import { StdioClientTransport } from "@modelcontextprotocol/sdk/client/stdio.js";
import { StreamableHTTPClientTransport } from "@modelcontextprotocol/sdk/client/streamableHttp.js";
import type {
  OAuthClientInformationMixed,
  OAuthClientMetadata,
  OAuthTokens,
} from "@modelcontextprotocol/sdk/shared/auth.js";
import type { Browser, Page } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { api, type BerthServer, freePort, mcpInitialize, startBerth } from "../support/berth-server";
import { launchChromium } from "../support/browser";
import { pkce, registerClient, startAuthorization, tokenRequest } from "../support/oauth";
import { tempDir } from "../support/temp-dirs";
import { until } from "../support/until";

const BIN = path.resolve(import.meta.dirname, "../../node_modules/.bin");
const REDIRECT = "http://127.0.0.1:9/oauth/callback"; // nothing listens: the browser's visit is caught
const PASSWORD = "oauth-owner-password";

/** The SDK client's side of OAuth, kept in memory, as an agent would keep it on disk. */
class MemoryAuth implements OAuthClientProvider {
  info: OAuthClientInformationMixed | undefined;
  saved: OAuthTokens | undefined;
  verifier = "";
  authorizationUrl: URL | undefined;
  get redirectUrl() {
    return REDIRECT;
  }
  get clientMetadata(): OAuthClientMetadata {
    return {
      client_name: "Test Agent",
      redirect_uris: [REDIRECT],
      grant_types: ["authorization_code", "refresh_token"],
      response_types: ["code"],
      token_endpoint_auth_method: "none",
    };
  }
  clientInformation() {
    return this.info;
  }
  saveClientInformation(info: OAuthClientInformationMixed) {
    this.info = info;
  }
  tokens() {
    return this.saved;
  }
  saveTokens(tokens: OAuthTokens) {
    this.saved = tokens;
  }
  redirectToAuthorization(url: URL) {
    this.authorizationUrl = url;
  }
  saveCodeVerifier(v: string) {
    this.verifier = v;
  }
  codeVerifier() {
    return this.verifier;
  }
}

/**
 * Berth as the OAuth 2.1 authorization server of its MCP endpoints: the MCP SDK's client finds it
 * from the endpoint's 401 alone, registers, and a person consents in Chromium.
 */
describe("OAuth on the MCP endpoint", () => {
  let berth: BerthServer;
  let browser: Browser;
  let account: { account_id: string; api_key: string };
  let call: ReturnType<typeof api>;
  let email: string;

  beforeAll(async () => {
    berth = await startBerth();
    browser = await launchChromium();
    email = `owner-${Date.now()}@oauth.test`;
    account = (await berth.cli([
      "accounts",
      "create",
      "--name",
      "OAuth",
      "--owner-email",
      email,
      "--owner-password",
      PASSWORD,
    ])) as typeof account;
    call = api(berth.url, account.api_key);
  });
  afterAll(async () => {
    await browser?.close();
    await berth?.stop();
  });

  const install = async () => {
    const res = await call("POST", "/api/mcp-connections/install", {
      account_id: account.account_id,
      server_id: "memory",
    });
    expect(res.body.data.status, res.text).toBe("running");
    return res.body.data as { id: string; mcp_url: string };
  };

  /** Opens `url` in a fresh browser, signs in when sent to, answers the consent page; where the browser was sent back. */
  async function consent(url: string, answer: "Allow" | "Deny") {
    const context = await browser.newContext();
    try {
      const page: Page = await context.newPage();
      let back: URL | undefined;
      await page.route("http://127.0.0.1:9/**", (route) => {
        back = new URL(route.request().url());
        return route.fulfill({ status: 200, body: "back at the client" });
      });
      await page.goto(url);
      if (page.url().includes("/sign-in")) {
        await page.fill("#email", email);
        await page.fill("#password", PASSWORD);
        await page.click("button[type=submit]");
      }
      await page.getByRole("heading", { name: "Allow Test Agent?" }).waitFor();
      const text = await page.locator("main").textContent();
      await page.getByRole("button", { name: answer }).click();
      await page.waitForURL((u) => u.href.startsWith("http://127.0.0.1:9/"));
      return { back: back as URL, text: text ?? "" };
    } finally {
      await context.close();
    }
  }

  it("lets an MCP client that knows only the endpoint's URL connect through discovery, registration, PKCE and consent", async () => {
    const conn = await install();
    // The 401 says where to learn about the endpoint's authorization (RFC 9728).
    const refused = await fetch(conn.mcp_url, { method: "POST" });
    expect(refused.status).toBe(401);
    const challenge = refused.headers.get("www-authenticate") ?? "";
    const metadataUrl = /resource_metadata="([^"]+)"/.exec(challenge)?.[1] as string;
    expect(metadataUrl).toContain(`/.well-known/oauth-protected-resource/api/mcp/${conn.id}`);
    const prm = (await (await fetch(metadataUrl)).json()) as { resource: string; authorization_servers: string[] };
    expect(prm.resource).toBe(conn.mcp_url);
    const asUrl = `${prm.authorization_servers[0]?.replace(/\/$/, "")}/.well-known/oauth-authorization-server`;
    const as = (await (await fetch(asUrl)).json()) as Record<string, unknown>;
    expect(as).toMatchObject({ code_challenge_methods_supported: ["S256"], grant_types_supported: expect.any(Array) });
    expect(as.registration_endpoint).toBeTruthy();

    const auth = new MemoryAuth();
    const first = new StreamableHTTPClientTransport(new URL(conn.mcp_url), { authProvider: auth });
    await expect(new Client({ name: "agent", version: "1" }).connect(first)).rejects.toBeInstanceOf(UnauthorizedError);
    expect(auth.authorizationUrl?.searchParams.get("resource")).toBe(conn.mcp_url);
    expect(auth.authorizationUrl?.searchParams.get("code_challenge_method")).toBe("S256");

    const { back, text } = await consent(String(auth.authorizationUrl), "Allow");
    expect(text).toContain("Test Agent wants to use the connection");
    expect(back.searchParams.get("state")).toBe(auth.authorizationUrl?.searchParams.get("state"));
    await first.finishAuth(back.searchParams.get("code") as string);
    expect(auth.saved?.access_token).toMatch(/^berth_at_/);

    const agent = new Client({ name: "agent", version: "1" });
    await agent.connect(new StreamableHTTPClientTransport(new URL(conn.mcp_url), { authProvider: auth }));
    const tools = await agent.listTools();
    expect(tools.tools.map((t) => t.name)).toContain("read_graph");
    await agent.close();

    // The token is this endpoint's only: not another connection's, not the REST API's.
    const other = await install();
    const bearer = { authorization: `Bearer ${auth.saved?.access_token}` };
    const asAgent = api(berth.url, auth.saved?.access_token);
    const onOther = await mcpInitialize(asAgent, other.id);
    expect(onOther.status).toBe(401);
    expect((await fetch(`${berth.url}/api/mcp-connections`, { headers: bearer })).status).toBe(401);

    // The owner sees the client on the connection's page and revokes it there: its tokens stop working.
    const grants = await call("GET", `/api/mcp-connections/${conn.id}/oauth-grants`);
    expect(grants.body.data).toEqual([expect.objectContaining({ client_name: "Test Agent", email })]);
    const context = await browser.newContext();
    try {
      const page = await context.newPage();
      await page.goto(`${berth.url.replace("127.0.0.1", "localhost")}/dashboard/connections/${conn.id}`);
      await page.fill("#email", email);
      await page.fill("#password", PASSWORD);
      await page.click("button[type=submit]");
      await page.getByTestId("oauth-grants").getByRole("button", { name: "Revoke Test Agent" }).click();
      await page.getByText("Revoked: that client must ask again.").waitFor();
    } finally {
      await context.close();
    }
    expect((await mcpInitialize(asAgent, conn.id)).status).toBe(401);
    // The SDK's client tries its refresh token, which is refused with the grant.
    const again = new StreamableHTTPClientTransport(new URL(conn.mcp_url), { authProvider: auth });
    await expect(new Client({ name: "agent", version: "1" }).connect(again)).rejects.toThrow(/refresh token/);
    expect((await call("GET", `/api/mcp-connections/${conn.id}/oauth-grants`)).body.data).toEqual([]);
  });

  // How desktop apps reach a remote server that wants OAuth: mcp-remote finds Berth from the 401,
  // registers, prints the authorization URL (its browser cannot open here), and waits on its own
  // loopback callback, where the person's browser lands after consenting.
  it("lets mcp-remote connect through OAuth, a person consenting in Chromium", async () => {
    const conn = await install();
    const port = await freePort();
    const transport = new StdioClientTransport({
      command: path.join(BIN, "mcp-remote"),
      args: [conn.mcp_url, String(port), "--transport", "http-only", "--allow-http"],
      env: { ...(process.env as Record<string, string>), MCP_REMOTE_CONFIG_DIR: tempDir("mcp-remote-oauth-") },
      stderr: "pipe",
    });
    let log = "";
    transport.stderr?.on("data", (d) => {
      log += d;
    });
    const client = new Client({ name: "through-mcp-remote", version: "1" });
    const connecting = client.connect(transport, { timeout: 60_000 });
    try {
      const authorizationUrl = await until(
        "mcp-remote's authorization URL",
        () => /Please authorize this client by visiting:\s+(\S+)/.exec(log)?.[1],
        30_000,
      );
      const context = await browser.newContext();
      try {
        const page = await context.newPage();
        await page.goto(authorizationUrl);
        if (page.url().includes("/sign-in")) {
          await page.fill("#email", email);
          await page.fill("#password", PASSWORD);
          await page.click("button[type=submit]");
        }
        await page.getByRole("heading", { name: /^Allow .+\?$/ }).waitFor();
        await page.getByRole("button", { name: "Allow" }).click();
        await page.waitForURL((u) => u.href.startsWith(`http://localhost:${port}/oauth/callback`));
      } finally {
        await context.close();
      }
      await connecting;
      expect((await client.listTools()).tools.map((t) => t.name)).toContain("read_graph");
      const grants = (await call("GET", `/api/mcp-connections/${conn.id}/oauth-grants`)).body.data as {
        client_name: string;
      }[];
      expect(grants.map((g) => g.client_name)).toEqual([expect.stringMatching(/mcp|MCP/)]);
    } catch (err) {
      throw new Error(`${err}\nmcp-remote's log:\n${log}`, { cause: err });
    } finally {
      await client.close().catch(() => {});
    }
  });

  it("registers only clients it can show truthfully and send back safely; text it cannot store is a 400", async () => {
    for (const [redirect, name] of [
      ["http://evil.example/cb", "Agent"], // plain http off loopback
      ["https://agent.example/cb#frag", "Agent"],
      ["https://agent.example/cb", "Claude\u202Eetalp\u202C"],
      ["https://agent.example/cb", "x".repeat(101)],
    ]) {
      await expect(registerClient(berth.url, redirect as string, name), `${redirect} ${name}`).rejects.toThrow(/400/);
    }
    expect(await registerClient(berth.url, "https://agent.example/cb", "Agent")).toBeTruthy();
    const nul = await tokenRequest(berth.url, {
      grant_type: "refresh_token",
      client_id: "a\u0000b",
      refresh_token: "x",
    });
    expect([nul.status, nul.body.error]).toEqual([400, "invalid_request"]);
  });

  it("sends a denied client back with access_denied and no code", async () => {
    const conn = await install();
    const clientId = await registerClient(berth.url, REDIRECT, "Test Agent");
    const started = await startAuthorization(berth.url, {
      clientId,
      redirectUri: REDIRECT,
      resource: conn.mcp_url,
      challenge: pkce().challenge,
      state: "s1",
    });
    expect(started.status).toBe(302);
    const { back } = await consent(new URL(started.location, berth.url).href, "Deny");
    expect(back.searchParams.get("error")).toBe("access_denied");
    expect(back.searchParams.get("state")).toBe("s1");
    expect(back.searchParams.has("code")).toBe(false);
  });

  it("rotates refresh tokens; a used one presented again revokes the grant; codes and PKCE are checked", async () => {
    const conn = await install();
    const clientId = await registerClient(berth.url, REDIRECT, "Test Agent");
    const { verifier, challenge } = pkce();
    const started = await startAuthorization(berth.url, {
      clientId,
      redirectUri: REDIRECT,
      resource: conn.mcp_url,
      challenge,
    });
    const { back } = await consent(new URL(started.location, berth.url).href, "Allow");
    const code = back.searchParams.get("code") as string;
    const exchange = { grant_type: "authorization_code", client_id: clientId, code, redirect_uri: REDIRECT };

    expect((await tokenRequest(berth.url, { ...exchange, code_verifier: pkce().verifier })).body.error).toBe(
      "invalid_grant",
    );
    const issued = await tokenRequest(berth.url, { ...exchange, code_verifier: verifier });
    expect(issued.status, JSON.stringify(issued.body)).toBe(200);
    expect(issued.body.token_type).toBe("Bearer");
    expect((await tokenRequest(berth.url, { ...exchange, code_verifier: verifier })).body.error).toBe("invalid_grant");

    const refresh = (token: string) =>
      tokenRequest(berth.url, { grant_type: "refresh_token", client_id: clientId, refresh_token: token });
    const rotated = await refresh(issued.body.refresh_token as string);
    expect(rotated.status).toBe(200);
    expect(rotated.body.refresh_token).not.toBe(issued.body.refresh_token);
    const mcp = (token: string) => mcpInitialize(api(berth.url, token), conn.id);
    expect((await mcp(rotated.body.access_token as string)).status).toBe(200);

    // The first refresh token again: a copy is loose, so the whole grant goes.
    const replay = await refresh(issued.body.refresh_token as string);
    expect([replay.status, replay.body.error]).toEqual([400, "invalid_grant"]);
    expect((await refresh(rotated.body.refresh_token as string)).body.error).toBe("invalid_grant");
    expect((await mcp(rotated.body.access_token as string)).status).toBe(401);
  });
});
