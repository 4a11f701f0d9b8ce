import fs from "node:fs";
import path from "node:path";
import { Client } from "@modelcontextprotocol/sdk/client/index.js";
import { StreamableHTTPClientTransport } from "@modelcontextprotocol/sdk/client/streamableHttp.js";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { api, type BerthServer, mcpInitialize, startBerth } from "../support/berth-server";
import { launchChromium, signInThroughPage } from "../support/browser";
import { githubLikeDefinition, LocalOAuthProvider } from "../support/oauth-provider";
import { tempDir } from "../support/temp-dirs";
import { until } from "../support/until";

/**
 * "Connect with GitHub" against a real OAuth provider on this machine (oauth2-mock-server): the
 * definition declares it as the catalogue's GitHub one declares github.com, and its server (the
 * MCP reference server) shows the token it was started with through its `get-env` tool, so the
 * test sees what the server got, not what Berth says it gave.
 */

type Conn = { id: string; status: string; mcp_url: string; last_error: string | null };
type Event = { type: string; data: Record<string, unknown> };

describe("upstream OAuth: Connect with a provider", () => {
  const provider = new LocalOAuthProvider();
  let berth: BerthServer;
  let call: ReturnType<typeof api>;
  let key: string;
  let accountId: string;
  /** The account owner's dashboard session: the browser that comes back from the provider is signed in. */
  let cookie: string;
  const clients: Client[] = [];

  beforeAll(async () => {
    const issuer = await provider.start();
    berth = await startBerth({
      SANDBOX_PROVIDER: "local",
      BERTH_MAINTENANCE_INTERVAL_MS: "250",
      // Tokens here live seconds: refreshed as soon as they are due, not at most once a minute.
      BERTH_OAUTH_REFRESH_FLOOR_SECONDS: "1",
      BERTH_OAUTH_GITHUB_LOCAL_CLIENT_ID: "berth-client",
      BERTH_OAUTH_GITHUB_LOCAL_CLIENT_SECRET: "berth-client-secret",
    });
    const file = path.join(tempDir("upstream-oauth-"), "github-local.json");
    fs.writeFileSync(file, JSON.stringify(githubLikeDefinition(issuer, ["repo", "read:org"])));
    await berth.cli(["servers", "add", "--file", file]);
    const owner = { email: "owner@upstream.test", password: "upstream-owner-password" };
    const account = (await berth.cli([
      "accounts",
      "create",
      "--name",
      "Upstream",
      "--owner-email",
      owner.email,
      "--owner-password",
      owner.password,
    ])) as { account_id: string; api_key: string };
    key = account.api_key;
    accountId = account.account_id;
    call = api(berth.url, key);
    const browser = await launchChromium();
    try {
      cookie = (await signInThroughPage(browser, berth.url, owner.email, owner.password)).cookie;
    } finally {
      await browser.close();
    }
  });
  afterAll(async () => {
    await Promise.all(clients.map((c) => c.close().catch(() => {})));
    await berth?.stop();
    await provider.stop();
  });

  const get = async (id: string) => (await call("GET", `/api/mcp-connections/${id}`)).body.data as Conn;
  const events = async (id: string) =>
    ((await call("GET", `/api/mcp-connections/${id}/events`)).body.data as Event[]).filter(
      (e) => e.type !== "tool_call",
    );
  const statusIs = (id: string, status: string, ms = 30_000) =>
    until(`${id} ${status}`, async () => ((await get(id)).status === status ? get(id) : undefined), ms);

  /** Berth's page the provider sends the browser back to, visited with `session` (the owner's, by default). */
  async function returnTo(callback: string, session = cookie) {
    const back = await fetch(callback, { redirect: "manual", headers: session ? { cookie: session } : {} });
    expect([303, 307]).toContain(back.status);
    return new URL(back.headers.get("location") as string, callback);
  }

  /** What the owner's browser does: opens the authorization URL, follows the provider back to Berth; where Berth sends it. */
  async function connectInBrowser(id: string) {
    const started = await call("POST", `/api/mcp-connections/${id}/authorize`, {});
    expect(started.status, started.text).toBe(200);
    const atProvider = await fetch(started.body.data.authorization_url, { redirect: "manual" });
    const callback = atProvider.headers.get("location") as string;
    const location = await returnTo(callback);
    return { authorizationUrl: new URL(started.body.data.authorization_url), callback, location: location.href };
  }

  async function install(credentials: Record<string, string> = {}) {
    const res = await call("POST", "/api/mcp-connections/install", {
      account_id: accountId,
      server_id: "github-local",
      auth: "oauth",
      credentials,
    });
    expect(res.status, res.text).toBe(201);
    return res.body.data as Conn;
  }

  async function agent(url: string) {
    const client = new Client({ name: "upstream-oauth-test", version: "1" });
    await client.connect(
      new StreamableHTTPClientTransport(new URL(url), { requestInit: { headers: { authorization: `Bearer ${key}` } } }),
    );
    clients.push(client);
    return client;
  }

  /** The token the server was started with, as it reads its own environment. */
  async function tokenSeenBy(client: Client) {
    const result = (await client.callTool({ name: "get-env", arguments: {} })) as { content: { text: string }[] };
    const env = JSON.parse(result.content[0]?.text ?? "{}") as Record<string, string>;
    return env.GITHUB_PERSONAL_ACCESS_TOKEN;
  }

  it("offers Connect with GitHub only where this Berth has an OAuth app there", async () => {
    const local = (await call("GET", "/api/mcp-server-definitions/github-local")).body.data;
    expect(local.oauth).toMatchObject({ provider: "GitHub", configured: true });
    const github = (await call("GET", "/api/mcp-server-definitions/github")).body.data;
    expect(github.oauth).toMatchObject({
      provider: "GitHub",
      authorization_url: "https://github.com/login/oauth/authorize",
      env: { GITHUB_PERSONAL_ACCESS_TOKEN: "access_token" },
      configured: false,
    });
    const slack = (await call("GET", "/api/mcp-server-definitions/slack")).body.data;
    expect(slack.oauth).toMatchObject({
      provider: "Slack",
      env: { SLACK_BOT_TOKEN: "access_token", SLACK_TEAM_ID: "team.id" },
    });

    const refused = await call("POST", "/api/mcp-connections/install", {
      account_id: accountId,
      server_id: "github",
      auth: "oauth",
    });
    expect(refused.status).toBe(409);
    expect(refused.body.error.message).toContain("BERTH_OAUTH_GITHUB_CLIENT_ID");
    // The token is the provider's to give: an install through OAuth may not paste it.
    const pasted = await call("POST", "/api/mcp-connections/install", {
      account_id: accountId,
      server_id: "github-local",
      auth: "oauth",
      credentials: { GITHUB_PERSONAL_ACCESS_TOKEN: "ghp_pasted" },
    });
    expect(pasted.status).toBe(400);
    expect(pasted.body.error.details).toEqual([
      { path: "credentials.GITHUB_PERSONAL_ACCESS_TOKEN", message: "Unknown field." },
    ]);
  });

  it("installs auth_required, runs once authorized with PKCE, and the server gets the provider's token", async () => {
    const conn = await install({ GITHUB_ORG: "acme" });
    expect(conn.status).toBe("auth_required");
    const early = await mcpInitialize(call, conn.id);
    expect(early.status).toBe(409);
    expect(early.text).toContain("connect it to its provider again");
    expect((await call("POST", `/api/mcp-connections/${conn.id}/restart`)).status).toBe(409);

    const { authorizationUrl, callback, location } = await connectInBrowser(conn.id);
    const q = authorizationUrl.searchParams;
    expect(q.get("code_challenge_method")).toBe("S256");
    expect(q.get("code_challenge")).toMatch(/^[\w-]{43}$/);
    expect(q.get("client_id")).toBe("berth-client");
    expect(q.get("scope")).toBe("repo read:org");
    expect(q.get("redirect_uri")).toBe(`${berth.url.replace("127.0.0.1", "localhost")}/oauth/upstream/callback`);
    expect(location).toBe(`${berth.url.replace("127.0.0.1", "localhost")}/dashboard/connections/${conn.id}`);
    await statusIs(conn.id, "running");

    const client = await agent(conn.mcp_url);
    const token = await tokenSeenBy(client);
    expect(token).toBe(provider.accessTokens.at(-1));
    // The other credentials the install gave are kept beside it.
    const result = (await client.callTool({ name: "get-env", arguments: {} })) as { content: { text: string }[] };
    expect(JSON.parse(result.content[0]?.text ?? "{}").GITHUB_ORG).toBe("acme");

    // Neither the token nor the refresh token is in any answer.
    const everything = JSON.stringify([await get(conn.id), await events(conn.id)]);
    expect(everything).not.toContain(token);
    expect(everything).not.toContain(provider.refreshTokens.at(-1));
    const types = (await events(conn.id)).map((e) => e.type).reverse();
    expect(types).toEqual(["installed", "auth_required", "authorized", "deploying", "running"]);

    // The provider's answer is good once: the same callback again changes nothing.
    const replay = await returnTo(callback);
    expect(replay.searchParams.get("oauth_error")).toContain("expired, was used");
    expect((await get(conn.id)).status).toBe("running");
  });

  it("refreshes the token before it expires and restarts the server with it, without the agent noticing", async () => {
    provider.lifetime = 8;
    const conn = await install();
    await connectInBrowser(conn.id);
    await statusIs(conn.id, "running");
    const client = await agent(conn.mcp_url);
    const first = await tokenSeenBy(client);
    const firstRefresh = provider.refreshTokens.at(-1);
    provider.lifetime = 3600; // the refreshed one lives long: one refresh in this test
    // A call still running when the refresh comes (due 4 s into the token's 8): the old server
    // is drained, not stopped under it.
    const slow = client.callTool(
      { name: "trigger-long-running-operation", arguments: { duration: 6, steps: 2 } },
      undefined,
      {
        timeout: 45_000,
      },
    );

    // The agent keeps calling through the refresh and the restart: every call is answered.
    const seen: string[] = [];
    const failures: unknown[] = [];
    await until(
      "a refreshed token in the server",
      async () => {
        const token = await tokenSeenBy(client).catch((err) => {
          failures.push(err);
          return undefined;
        });
        if (token) seen.push(token);
        return token && token !== first ? token : undefined;
      },
      30_000,
    );
    expect(failures).toEqual([]);
    const slowResult = (await slow) as { isError?: boolean; content: { text: string }[] };
    expect(slowResult.isError).toBeFalsy();
    expect(slowResult.content[0]?.text).toMatch(/completed/i);
    expect(seen.at(-1)).toBe(provider.accessTokens.at(-1));
    expect(provider.spent).toContain(firstRefresh);
    const types = (await events(conn.id)).map((e) => e.type);
    expect(types.slice(0, 4)).toEqual(["running", "deploying", "restarted", "token_refreshed"]);
    const deploying = (await events(conn.id)).find((e) => e.type === "deploying");
    expect(deploying?.data).toMatchObject({ reason: "token_refreshed", by: "system" });
  });

  it("turns auth_required at once when the provider refuses the refresh, and connecting again brings it back", async () => {
    provider.lifetime = 6;
    const conn = await install();
    await connectInBrowser(conn.id);
    await statusIs(conn.id, "running");
    const client = await agent(conn.mcp_url);
    expect(await tokenSeenBy(client)).toBe(provider.accessTokens.at(-1));
    provider.refuse = true;

    const required = await statusIs(conn.id, "auth_required");
    expect(required.last_error).toContain("invalid_grant");
    const event = (await events(conn.id)).find((e) => e.type === "auth_required");
    expect(event?.data).toMatchObject({ by: "system" });
    expect(String(event?.data.error)).toContain("The app's authorization was revoked.");
    // The agent is told why at once, not by a failure inside its next tool call.
    await expect(tokenSeenBy(client)).rejects.toThrow(/connect it to its provider again/);

    provider.refuse = false;
    provider.lifetime = 3600;
    const { location } = await connectInBrowser(conn.id);
    expect(location).not.toContain("oauth_error");
    await statusIs(conn.id, "running");
    const again = await agent(conn.mcp_url);
    expect(await tokenSeenBy(again)).toBe(provider.accessTokens.at(-1));
  });

  it("tries a provider that is down again until the token expires: refreshed if it is back, else auth_required", async () => {
    provider.lifetime = 6;
    const conn = await install();
    await connectInBrowser(conn.id);
    await statusIs(conn.id, "running");
    provider.lifetime = 3600;
    provider.down = 1; // the first try fails, the one when the token expires works
    const spentBefore = provider.spent.length;
    await until("the refresh after the provider came back", async () =>
      (await events(conn.id)).some((e) => e.type === "token_refreshed") ? true : undefined,
    );
    expect(provider.spent.length - spentBefore).toBe(2);
    await statusIs(conn.id, "running");

    provider.lifetime = 6;
    const second = await install();
    await connectInBrowser(second.id);
    await statusIs(second.id, "running");
    provider.down = 1000; // down for good
    const required = await statusIs(second.id, "auth_required");
    expect(required.last_error).toContain("503");
    provider.down = 0;
    provider.lifetime = 3600;
  });

  it("completes only in a browser signed in to the account: a link followed by anyone else attaches nothing", async () => {
    const conn = await install();
    const started = await call("POST", `/api/mcp-connections/${conn.id}/authorize`, {});
    const callback = (await fetch(started.body.data.authorization_url, { redirect: "manual" })).headers.get(
      "location",
    ) as string;
    // Not signed in: off to sign in first, the flow kept for after.
    const anonymous = await returnTo(callback, "");
    expect(anonymous.pathname).toBe("/sign-in");
    expect(anonymous.searchParams.get("next")).toContain("/oauth/upstream/callback");
    // Signed in to another account: its admin completes nothing, and the flow is still the owner's.
    const stranger = { email: "stranger@upstream.test", password: "stranger-password" };
    await berth.cli([
      "accounts",
      "create",
      "--name",
      "Other",
      "--owner-email",
      stranger.email,
      "--owner-password",
      stranger.password,
    ]);
    const browser = await launchChromium();
    let strangerCookie: string;
    try {
      strangerCookie = (await signInThroughPage(browser, berth.url, stranger.email, stranger.password)).cookie;
    } finally {
      await browser.close();
    }
    const elsewhere = await returnTo(callback, strangerCookie);
    expect(elsewhere.searchParams.get("oauth_error")).toContain("another account");
    expect((await get(conn.id)).status).toBe("auth_required");
    const owner = await returnTo(callback);
    expect(owner.searchParams.get("oauth_error")).toBeNull();
    await statusIs(conn.id, "running");
  });

  it("sends the browser back with the provider's refusal when the person declines", async () => {
    const conn = await install();
    const started = await call("POST", `/api/mcp-connections/${conn.id}/authorize`, {
      return_to: "/dashboard/connections",
    });
    const url = new URL(started.body.data.authorization_url);
    // As the provider answers a declined consent (RFC 6749 §4.1.2.1).
    const declined = new URL(url.searchParams.get("redirect_uri") as string);
    declined.searchParams.set("error", "access_denied");
    declined.searchParams.set("state", url.searchParams.get("state") as string);
    const location = await returnTo(declined.href);
    expect(location.pathname).toBe("/dashboard/connections");
    expect(location.searchParams.get("oauth_error")).toContain("access_denied");
    expect((await get(conn.id)).status).toBe("auth_required");
  });
});
