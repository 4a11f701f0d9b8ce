import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { api, type BerthServer, startBerth } from "../support/berth-server";

type Account = { account_id: string; api_key: string };

/**
 * Starting a sandbox costs the host far more than any other request, so each account may start
 * only so many a minute (BERTH_ACCOUNT_SANDBOX_STARTS_PER_MINUTE): installs, dry runs, runs,
 * restarts and credential changes all count; past it 429 with Retry-After, nothing changed, and
 * another account is not slowed.
 */
describe("sandbox starts per account and minute", () => {
  let berth: BerthServer;
  let a: Account;
  let b: Account;
  let callA: ReturnType<typeof api>;

  beforeAll(async () => {
    berth = await startBerth({ BERTH_ACCOUNT_SANDBOX_STARTS_PER_MINUTE: "3" });
    a = (await berth.cli(["accounts", "create", "--name", "Churner"])) as Account;
    b = (await berth.cli(["accounts", "create", "--name", "Neighbour"])) as Account;
    callA = api(berth.url, a.api_key);
  });
  afterAll(async () => {
    await berth?.stop();
  });

  const install = (call: ReturnType<typeof api>, account: Account, extra: object = {}) =>
    call("POST", "/api/mcp-connections/install", { account_id: account.account_id, server_id: "memory", ...extra });
  const expectLimited = (res: { status: number; body: any; headers: Headers }, what: string) => {
    expect(res.status, what).toBe(429);
    expect(res.body.error.code, what).toBe("too_many_requests");
    expect(Number(res.headers.get("retry-after")), what).toBeGreaterThanOrEqual(1);
  };

  it("counts installs, dry runs and runs, then refuses each with Retry-After, storing nothing", async () => {
    const installed = await install(callA, a);
    expect(installed.status, installed.text).toBe(201);
    expect((await install(callA, a, { dry_run: true })).status).toBe(200);
    const run = await callA("POST", "/api/sandbox-runs", { account_id: a.account_id, command: "true", timeout: 10 });
    expect(run.status, run.text).toBe(200);

    expectLimited(await install(callA, a), "install");
    expectLimited(await install(callA, a, { dry_run: true }), "dry run");
    expectLimited(
      await callA("POST", "/api/sandbox-runs", { account_id: a.account_id, command: "true", timeout: 10 }),
      "run",
    );
    const id = installed.body.data.id;
    expectLimited(await callA("POST", `/api/mcp-connections/${id}/restart`), "restart");
    expectLimited(await callA("PUT", `/api/mcp-connections/${id}/credentials`, { credentials: {} }), "credentials");

    const list = (await callA("GET", "/api/mcp-connections")).body.data;
    expect(list.map((c: { id: string; status: string }) => [c.id, c.status])).toEqual([[id, "running"]]);
    const events = (await callA("GET", `/api/mcp-connections/${id}/events`)).body.data;
    expect(events.map((e: { type: string }) => e.type)).not.toContain("restarted");
    expect(events.map((e: { type: string }) => e.type)).not.toContain("credentials_updated");
  });

  it("does not slow another account", async () => {
    const res = await install(api(berth.url, b.api_key), b);
    expect(res.status, res.text).toBe(201);
  });
});
