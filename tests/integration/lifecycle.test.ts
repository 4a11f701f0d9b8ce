import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { api, type BerthServer, processesIn, startBerth } from "../support/berth-server";

type Account = { account_id: string; api_key: string };

async function until<T>(what: string, fn: () => Promise<T | undefined>, ms = 20_000): Promise<T> {
  const deadline = Date.now() + ms;
  for (;;) {
    const v = await fn();
    if (v !== undefined) return v;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

describe("connection lifecycle on local sandboxes", () => {
  let berth: BerthServer;
  let account: Account;
  let call: ReturnType<typeof api>;

  beforeAll(async () => {
    berth = await startBerth({ BERTH_MAINTENANCE_INTERVAL_MS: "200" });
    account = (await berth.cli(["accounts", "create", "--name", "Lifecycle"])) as Account;
    call = api(berth.url, account.api_key);
  });
  afterAll(async () => {
    await berth?.stop();
  });

  const install = async (extra: Record<string, unknown> = {}) => {
    const res = await call("POST", "/api/mcp-connections/install", {
      account_id: account.account_id,
      server_id: "memory",
      ...extra,
    });
    expect(res.status).toBe(201);
    expect(res.body.data.status).toBe("running");
    return res.body.data as { id: string; sandbox_id: string; expires_at: string };
  };
  const status = async (id: string) => (await call("GET", `/api/mcp-connections/${id}`)).body.data;
  const home = (sandboxId: string) => path.join(berth.dataDir, "sandboxes", sandboxId);

  it("expires a connection without keep_alive at expires_at and stops its server", async () => {
    const conn = await install({ keep_alive: false, timeout: 2 });
    expect(processesIn(home(conn.sandbox_id)).length).toBeGreaterThan(0);
    const expired = await until("expiry", async () => {
      const c = await status(conn.id);
      return c.status === "expired" ? c : undefined;
    });
    expect(Date.now()).toBeGreaterThanOrEqual(Date.parse(conn.expires_at));
    expect(expired.sandbox_id).toBeNull();
    expect(processesIn(home(conn.sandbox_id))).toEqual([]);
    const types = (await call("GET", `/api/mcp-connections/${conn.id}/events`)).body.data.map(
      (e: { type: string }) => e.type,
    );
    expect(types[0]).toBe("expired");
  });

  it("keeps a keep_alive connection running past its timeout", async () => {
    const conn = await install({ keep_alive: true, timeout: 2 });
    await new Promise((r) => setTimeout(r, 3000));
    const c = await status(conn.id);
    expect(c.status).toBe("running");
    expect(Date.parse(c.expires_at)).toBeGreaterThan(Date.now());
    const events = (await call("GET", `/api/mcp-connections/${conn.id}/events`)).body.data;
    expect(
      events.some((e: { type: string; data: { by?: string } }) => e.type === "extended" && e.data.by === "keep_alive"),
    ).toBe(true);
  });

  it("marks a crashed server failed with a crashed event, and restart brings it back on the same id", async () => {
    const conn = await install();
    for (const pid of processesIn(home(conn.sandbox_id))) process.kill(pid, "SIGKILL");
    const failed = await until("crash", async () => {
      const c = await status(conn.id);
      return c.status === "failed" ? c : undefined;
    });
    expect(failed.last_error).toContain("exited");
    const types = (await call("GET", `/api/mcp-connections/${conn.id}/events`)).body.data.map(
      (e: { type: string }) => e.type,
    );
    expect(types[0]).toBe("crashed");

    const restarted = await call("POST", `/api/mcp-connections/${conn.id}/restart`);
    expect(restarted.status).toBe(202);
    expect(restarted.body.data).toMatchObject({ id: conn.id, status: "running" });
    expect(restarted.body.data.sandbox_id).not.toBe(conn.sandbox_id);
    expect(restarted.body.data.mcp_url).toMatch(new RegExp(`/api/mcp/${conn.id}$`));
  });

  it("replaces credentials write-only and redeploys", async () => {
    const conn = await install();
    const res = await call("PUT", `/api/mcp-connections/${conn.id}/credentials`, { credentials: {} });
    expect(res.status).toBe(200);
    expect(res.body.data.status).toBe("running");
    expect(res.body.data.sandbox_id).not.toBe(conn.sandbox_id);
    const types = (await call("GET", `/api/mcp-connections/${conn.id}/events`)).body.data.map(
      (e: { type: string }) => e.type,
    );
    expect(types).toContain("credentials_updated");
  });

  it("dry-runs a server without storing anything", async () => {
    const before = (await call("GET", "/api/mcp-connections")).body.data.length;
    const ok = await call("POST", "/api/mcp-connections/install", {
      account_id: account.account_id,
      server_id: "memory",
      dry_run: true,
    });
    expect(ok.status).toBe(200);
    expect(ok.body.data.ok).toBe(true);
    expect(ok.body.data.tools.map((t: { name: string }) => t.name)).toContain("read_graph");
    expect((await call("GET", "/api/mcp-connections")).body.data.length).toBe(before);
  });

  it("brings running connections back after Berth restarts, same id and URL", async () => {
    const conn = await install();
    await berth.stop();
    expect(processesIn(home(conn.sandbox_id))).toEqual([]);
    berth = await startBerth({ BERTH_DATA_DIR: berth.dataDir, BERTH_MAINTENANCE_INTERVAL_MS: "200" });
    call = api(berth.url, account.api_key);
    const back = await until("recovery", async () => {
      const c = await status(conn.id);
      return c.status === "running" ? c : undefined;
    });
    expect(back.sandbox_id).not.toBe(conn.sandbox_id);
    expect(processesIn(home(back.sandbox_id)).length).toBeGreaterThan(0);
  });
});
