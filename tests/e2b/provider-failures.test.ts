import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { PROVIDER_RETRIES } from "@/lib/core/retry";
import { FakeE2B } from "../fakes/e2b-server";
import { type api, type BerthServer, newAccount, startBerth } from "../support/berth-server";
import { until } from "../support/until";

const support = FakeE2B.supported();
if (!support.ok) console.log(`[e2b provider failures] skipped: ${support.reason}`);

/** Every try Berth makes, so that the failure outlasts its retries. */
const ALL_TRIES = PROVIDER_RETRIES.attempts;

/**
 * E2B failing (5xx) while Berth extends, deletes or restarts a connection: the contract's 502
 * `sandbox_provider_failed` with E2B's words, never a 500; the connection's status stays true
 * and trying again, once E2B is back, works and leaves no sandbox behind. E2B failing for a
 * moment (429, 503, 5xx) is tried again a bounded number of times, and the caller never sees it.
 */
describe.skipIf(!support.ok)("E2B failing under install, extend, delete and restart", () => {
  let fake: FakeE2B;
  let berth: BerthServer;
  let call: ReturnType<typeof api>;
  let accountId: string;

  beforeAll(async () => {
    fake = await FakeE2B.start();
    berth = await startBerth({
      ...fake.berthEnv(),
    });
    ({ accountId, call } = await newAccount(berth, "E2B failing"));
  });
  afterAll(async () => {
    await berth?.stop();
    await fake?.close();
  });

  const install = async () => {
    const res = await call("POST", "/api/mcp-connections/install", {
      account_id: accountId,
      server_id: "memory",
      keep_alive: false,
      timeout: 600,
    });
    expect(res.status).toBe(201);
    expect(res.body.data.status).toBe("running");
    return res.body.data as { id: string; sandbox_id: string; expires_at: string };
  };
  /** How many times Berth called an E2B REST route (as `"POST", "/v2/sandboxes"`) since `since`. */
  const tries = (method: string, path: RegExp, since: number) =>
    fake.calls.filter((c) => c.api === "rest" && c.method === method && path.test(c.path) && c.at >= since).length;
  const get = async (id: string) => (await call("GET", `/api/mcp-connections/${id}`)).body.data;
  const expectProviderFailed = (res: { status: number; body: any }, what: string) => {
    expect(res.status).toBe(502);
    expect(res.body.error.code).toBe("sandbox_provider_failed");
    expect(res.body.error.message).toContain(`The sandbox provider failed to ${what}`);
    expect(res.body.error.message).toContain("E2B");
    expect(JSON.stringify(res.body)).not.toMatch(/\bat .*\.(ts|js):\d+/); // no stack
  };

  it("extend: 502, the expiry as it was; then it extends", async () => {
    const conn = await install();
    fake.failNext("POST sandboxes/:id/timeout", 500, ALL_TRIES);
    expectProviderFailed(await call("POST", `/api/mcp-connections/${conn.id}/extend`, { seconds: 3000 }), "extend");
    expect(await get(conn.id)).toMatchObject({ status: "running", expires_at: conn.expires_at });
    const events = (await call("GET", `/api/mcp-connections/${conn.id}/events`)).body.data;
    expect(events.map((e: { type: string }) => e.type)).not.toContain("extended");

    const again = await call("POST", `/api/mcp-connections/${conn.id}/extend`, { seconds: 3000 });
    expect(again.status).toBe(200);
    expect(new Date(again.body.data.expires_at).getTime()).toBeGreaterThan(new Date(conn.expires_at).getTime());
    await call("DELETE", `/api/mcp-connections/${conn.id}`);
  });

  it("delete: 502, the connection still there and running; deleting again removes it and its sandbox", async () => {
    const conn = await install();
    fake.failNext("DELETE sandboxes/:id", 503, ALL_TRIES, "Service Unavailable");
    expectProviderFailed(await call("DELETE", `/api/mcp-connections/${conn.id}`), "stop the sandbox");
    expect((await get(conn.id)).status).toBe("running");
    expect(fake.sandboxIds()).toContain(conn.sandbox_id);

    expect((await call("DELETE", `/api/mcp-connections/${conn.id}`)).status).toBe(200);
    expect((await call("GET", `/api/mcp-connections/${conn.id}`)).status).toBe(404);
    expect(fake.sandboxIds()).not.toContain(conn.sandbox_id);
  });

  it("restart: 502 and failed with the reason (not left deploying); restarting again runs it", async () => {
    const conn = await install();
    fake.failNext("DELETE sandboxes/:id", 500, ALL_TRIES);
    expectProviderFailed(await call("POST", `/api/mcp-connections/${conn.id}/restart`), "stop the old sandbox");
    const failed = await get(conn.id);
    expect(failed.status).toBe("failed");
    expect(failed.last_error).toContain("The sandbox provider failed to stop the old sandbox");
    const events = (await call("GET", `/api/mcp-connections/${conn.id}/events`)).body.data;
    expect(events.map((e: { type: string }) => e.type).slice(0, 3)).toEqual(["failed", "deploying", "restarted"]); // newest first

    const again = await call("POST", `/api/mcp-connections/${conn.id}/restart`);
    expect([200, 202]).toContain(again.status);
    const running = await until("the restarted connection to run", async () => {
      const c = await get(conn.id);
      return c.status === "running" ? c : undefined;
    });
    expect(fake.sandboxIds()).not.toContain(conn.sandbox_id);
    expect(fake.sandboxIds()).toContain(running.sandbox_id);
    expect((await call("DELETE", `/api/mcp-connections/${conn.id}`)).status).toBe(200);
    expect(fake.sandboxIds()).toEqual([]);
  });

  it("E2B refusing for a moment (429, 503) or failing (500, 502): the install, extend and delete go through after retries", async () => {
    let since = Date.now();
    fake.failNext("POST v2/sandboxes", 429, 2, "Rate limit exceeded");
    const conn = await install();
    expect(tries("POST", /^\/v2\/sandboxes$/, since)).toBe(3);

    since = Date.now();
    fake.failNext("POST sandboxes/:id/timeout", 503, ALL_TRIES - 1, "Service Unavailable");
    expect((await call("POST", `/api/mcp-connections/${conn.id}/extend`, { seconds: 3000 })).status).toBe(200);
    expect(tries("POST", /\/timeout$/, since)).toBe(ALL_TRIES);

    since = Date.now();
    fake.failNext("DELETE sandboxes/:id", 502, 2, "Bad Gateway");
    expect((await call("DELETE", `/api/mcp-connections/${conn.id}`)).status).toBe(200);
    expect(tries("DELETE", /^\/sandboxes\//, since)).toBe(3);
    expect(fake.sandboxIds()).not.toContain(conn.sandbox_id);
  });

  it("install: a 500 on create is not tried again (the sandbox may exist); failed with the reason, nothing left", async () => {
    const before = fake.sandboxIds();
    const since = Date.now();
    fake.failNext("POST v2/sandboxes", 500);
    const res = await call("POST", "/api/mcp-connections/install", {
      account_id: accountId,
      server_id: "memory",
      keep_alive: false,
    });
    expect(tries("POST", /^\/v2\/sandboxes$/, since)).toBe(1);
    expect(JSON.stringify(res.body)).not.toMatch(/\bat .*\.(ts|js):\d+/);
    const id = res.body.data?.id ?? res.body.error?.details?.connection_id;
    if (res.status === 201) {
      const failed = await until("the install to fail", async () => {
        const c = await get(id);
        return c.status === "failed" ? c : undefined;
      });
      expect(failed.last_error).toContain("Could not create a sandbox: E2B error: 500");
      expect(failed.last_error).toContain("E2B");
      await call("DELETE", `/api/mcp-connections/${id}`);
    } else {
      expectProviderFailed(res, "create a sandbox");
    }
    expect(fake.sandboxIds()).toEqual(before);
  });

  it("a refusal that outlasts the retries: 502 in bounded time, the connection as it was", async () => {
    const conn = await install();
    fake.failNext("POST sandboxes/:id/timeout", 429, ALL_TRIES, "Rate limit exceeded");
    const t0 = Date.now();
    const res = await call("POST", `/api/mcp-connections/${conn.id}/extend`, { seconds: 3000 });
    const waited = Date.now() - t0;
    expectProviderFailed(res, "extend");
    expect(res.body.error.message).toContain("rate limit");
    // The retries' backoffs together, at most, with room for a busy machine's calls themselves.
    const { attempts, baseMs, capMs } = PROVIDER_RETRIES;
    const backoffs = Array.from({ length: attempts - 1 }, (_, i) => Math.min(capMs, baseMs * 2 ** i));
    expect(waited).toBeLessThan(backoffs.reduce((a, b) => a + b, 0) + 5000);
    expect(await get(conn.id)).toMatchObject({ status: "running", expires_at: conn.expires_at });
    await call("DELETE", `/api/mcp-connections/${conn.id}`);
  });
});
