import http from "node:http";
import type { AddressInfo } from "node:net";
import type { Browser, Page } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { api, type BerthServer, startBerth } from "../support/berth-server";
import { launchChromium } from "../support/browser";

/**
 * Origin and CORS, from a real browser: MCP's transport spec requires servers to check `Origin`
 * (DNS rebinding), and browser-based MCP clients need CORS to reach the endpoint at all. Two pages
 * on other origins than Berth's: one allowed by BERTH_ALLOWED_ORIGINS, one not. They are on the
 * same site as Berth (127.0.0.1, other ports), where SameSite cookies give no protection.
 */

const OWNER = { email: "owner@origins.test", password: "correct horse battery" };
const MCP_HEADERS = ["Authorization", "Content-Type", "Mcp-Session-Id", "MCP-Protocol-Version", "Last-Event-ID"];

/** A blank page served on its own origin. */
async function pageServer() {
  const server = http.createServer((_req, res) =>
    res.writeHead(200, { "content-type": "text/html" }).end("<!doctype html><title>client</title>"),
  );
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  return { server, origin: `http://127.0.0.1:${(server.address() as AddressInfo).port}` };
}

type Call = { url: string; key: string };

/**
 * What a browser-based MCP client does, run in the page: initialize (reading the session id from
 * the exposed header), initialized, then a tool call. Answers may come as JSON or as an SSE stream.
 */
function callEchoFromPage(page: Page, call: Call) {
  return page.evaluate(async ({ url, key }) => {
    const post = async (message: object, session?: string) => {
      const res = await fetch(url, {
        method: "POST",
        headers: {
          authorization: `Bearer ${key}`,
          "content-type": "application/json",
          accept: "application/json, text/event-stream",
          ...(session ? { "mcp-session-id": session, "mcp-protocol-version": "2025-11-25" } : {}),
        },
        body: JSON.stringify(message),
      });
      const text = await res.text();
      const data = text.startsWith("{") ? text : (text.split("\n").find((l) => l.startsWith("data: {")) ?? "").slice(6);
      return { status: res.status, session: res.headers.get("mcp-session-id"), body: data ? JSON.parse(data) : null };
    };
    const init = await post({
      jsonrpc: "2.0",
      id: 1,
      method: "initialize",
      params: { protocolVersion: "2025-11-25", capabilities: {}, clientInfo: { name: "browser", version: "1" } },
    });
    if (!init.session) return { init, error: "no Mcp-Session-Id readable" };
    await post({ jsonrpc: "2.0", method: "notifications/initialized" }, init.session);
    const called = await post(
      {
        jsonrpc: "2.0",
        id: 2,
        method: "tools/call",
        params: { name: "echo", arguments: { message: "from a browser" } },
      },
      init.session,
    );
    return { init, called };
  }, call);
}

describe("Origin and CORS", () => {
  let berth: BerthServer;
  let browser: Browser;
  let allowed: Awaited<ReturnType<typeof pageServer>>;
  let other: Awaited<ReturnType<typeof pageServer>>;
  let key: string;
  let mcpUrl: string;
  let connectionId: string;

  beforeAll(async () => {
    [allowed, other] = await Promise.all([pageServer(), pageServer()]);
    berth = await startBerth({ BERTH_ALLOWED_ORIGINS: allowed.origin });
    const account = (await berth.cli([
      "accounts",
      "create",
      "--name",
      "Origins",
      "--owner-email",
      OWNER.email,
      "--owner-password",
      OWNER.password,
    ])) as { account_id: string; api_key: string };
    key = account.api_key;
    const res = await api(berth.url, key)("POST", "/api/mcp-connections/install", {
      account_id: account.account_id,
      server_id: "everything",
    });
    expect(res.body.data.status).toBe("running");
    connectionId = res.body.data.id;
    mcpUrl = `${berth.url}/api/mcp/${connectionId}`;
    browser = await launchChromium();
  }, 120_000);
  afterAll(async () => {
    await browser?.close();
    await berth?.stop();
    allowed?.server.close();
    other?.server.close();
  });

  it("a page on an allowed origin initializes and calls a tool through the MCP endpoint", async () => {
    const page = await browser.newPage();
    await page.goto(allowed.origin);
    const { init, called, error } = await callEchoFromPage(page, { url: mcpUrl, key });
    expect(error).toBeUndefined();
    expect(init.status).toBe(200);
    expect(called?.body.result.content[0].text).toContain("from a browser");
    await page.close();
  });

  it("a page on another origin is refused: the browser sees a network error, Berth answered 403", async () => {
    const page = await browser.newPage();
    await page.goto(other.origin);
    const failure = await callEchoFromPage(page, { url: mcpUrl, key }).then(
      () => "no error",
      (err: Error) => err.message,
    );
    expect(failure).toMatch(/Failed to fetch/);
    await page.close();
    const res = await api(berth.url, key)("POST", `/api/mcp/${connectionId}`, {}, { origin: other.origin });
    expect(res.status).toBe(403);
    expect(res.body.error.code).toBe("origin_not_allowed");
    expect(res.headers.get("access-control-allow-origin")).toBeNull();
  });

  it.each([
    ["the MCP endpoint", () => `/api/mcp/${connectionId}`, "GET, POST, DELETE"],
    ["the REST API", () => "/api/mcp-connections", "GET"],
  ])("a preflight to %s from an allowed origin answers 204 with CORS, without auth", async (_, path, methods) => {
    const res = await fetch(`${berth.url}${path()}`, {
      method: "OPTIONS",
      headers: {
        origin: allowed.origin,
        "access-control-request-method": "POST",
        "access-control-request-headers": "authorization, content-type, mcp-session-id, mcp-protocol-version",
      },
    });
    expect(res.status).toBe(204);
    expect(res.headers.get("access-control-allow-origin")).toBe(allowed.origin);
    expect(res.headers.get("access-control-allow-methods")).toBe(methods);
    const allowHeaders = res.headers.get("access-control-allow-headers")?.toLowerCase() ?? "";
    for (const h of MCP_HEADERS) expect(allowHeaders).toContain(h.toLowerCase());
    expect(res.headers.get("access-control-expose-headers")).toContain("Mcp-Session-Id");
    expect(res.headers.get("access-control-allow-credentials")).toBeNull();
  });

  it.each([
    ["the MCP endpoint", () => `/api/mcp/${connectionId}`],
    ["the REST API", () => "/api/mcp-connections"],
  ])("a preflight to %s from another origin answers 403", async (_, path) => {
    const res = await fetch(`${berth.url}${path()}`, {
      method: "OPTIONS",
      headers: { origin: other.origin, "access-control-request-method": "POST" },
    });
    expect(res.status).toBe(403);
    expect((await res.json()).error.code).toBe("origin_not_allowed");
  });

  it("a DNS-rebinding request (evil Host and Origin) is refused on the MCP endpoint and the REST API", async () => {
    for (const path of [`/api/mcp/${connectionId}`, "/api/mcp-connections", "/api/health"]) {
      const res = await new Promise<{ status: number; body: string }>((resolve, reject) => {
        const req = http.request(`${berth.url}${path}`, {
          method: path.includes("/mcp/") ? "POST" : "GET",
          headers: {
            host: "evil.example.com",
            origin: "http://evil.example.com",
            authorization: `Bearer ${key}`,
            "content-type": "application/json",
            accept: "application/json, text/event-stream",
          },
        });
        req.on("response", (r) => {
          let body = "";
          r.on("data", (d) => {
            body += d;
          });
          r.on("end", () => resolve({ status: r.statusCode ?? 0, body }));
        });
        req.on("error", reject);
        req.end(path.includes("/mcp/") ? JSON.stringify({ jsonrpc: "2.0", id: 1, method: "ping" }) : undefined);
      });
      expect(res.status, path).toBe(403);
      expect(JSON.parse(res.body).error.code).toBe("origin_not_allowed");
    }
  });

  it("REST answers to an allowed origin carry CORS; requests without Origin are unaffected", async () => {
    const page = await browser.newPage();
    await page.goto(allowed.origin);
    const listed = await page.evaluate(
      async ({ url, key }) => {
        const res = await fetch(`${url}/api/mcp-connections`, { headers: { authorization: `Bearer ${key}` } });
        return { status: res.status, body: await res.json() };
      },
      { url: berth.url, key },
    );
    expect(listed.status).toBe(200);
    expect(listed.body.data.map((c: { id: string }) => c.id)).toContain(connectionId);
    await page.close();
    const plain = await api(berth.url, key)("GET", "/api/mcp-connections");
    expect(plain.status).toBe(200);
    expect(plain.headers.get("access-control-allow-origin")).toBeNull();
  });

  it("the signed-in session cookie changes nothing cross-origin or as a text/plain body", async () => {
    const context = await browser.newContext();
    const page = await context.newPage();
    await page.goto(`${berth.url}/sign-in`);
    await page.getByLabel("Email").fill(OWNER.email);
    await page.getByLabel("Password").fill(OWNER.password);
    await page.getByRole("button", { name: "Sign in" }).click();
    await page.waitForURL(/\/dashboard/);
    const cookie = (await context.cookies(berth.url)).map((c) => `${c.name}=${c.value}`).join("; ");
    const extend = `/api/mcp-connections/${connectionId}/extend`;
    const body = JSON.stringify({ seconds: 600 });
    const events = async () =>
      (await api(berth.url, key)("GET", `/api/mcp-connections/${connectionId}/events`)).body.data.filter(
        (e: { type: string }) => e.type === "extended",
      ).length;
    const before = await events();

    // A page of the same site (another port) posts a "simple" request with the cookie: refused.
    await page.goto(other.origin);
    await page.evaluate(
      ({ url, body }) =>
        fetch(url, {
          method: "POST",
          mode: "no-cors",
          credentials: "include",
          body,
          headers: { "content-type": "text/plain" },
        }),
      { url: `${berth.url}${extend}`, body },
    );
    await context.close();
    const cross = await api(berth.url)("POST", extend, body, {
      cookie,
      origin: other.origin,
      "content-type": "text/plain",
    });
    expect(cross.status).toBe(403);
    // No Origin (an old browser's form) and not JSON: refused too.
    const plain = await api(berth.url)("POST", extend, body, { cookie, "content-type": "text/plain" });
    expect(plain.status).toBe(415);
    expect(plain.body.error.code).toBe("unsupported_media_type");
    expect(await events()).toBe(before);
    // The dashboard's own requests (same origin, JSON) work.
    const own = await api(berth.url)("POST", extend, JSON.parse(body), { cookie, origin: berth.url });
    expect(own.status).toBe(200);
    expect(await events()).toBe(before + 1);
  });
});
