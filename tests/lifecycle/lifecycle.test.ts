import fs from "node:fs";
import path from "node:path";
import { Client } from "@modelcontextprotocol/sdk/client/index.js";
import { StreamableHTTPClientTransport } from "@modelcontextprotocol/sdk/client/streamableHttp.js";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { crashingServer, slowServer } from "../fixtures/servers";
import { api, type BerthServer, startBerth } from "../support/berth-server";
import { expectUniformTimeline } from "../support/timeline";
import { until } from "../support/until";
import { PROVIDERS } from "./providers";

type Account = { account_id: string; api_key: string };
type Event = { type: string; data: Record<string, unknown> };
type Conn = {
  id: string;
  status: string;
  sandbox_id: string;
  expires_at: string;
  last_error: string | null;
  mcp_url: string;
};

/** One lifecycle, the same on every provider (CONTRACT.md, Lifecycle and Precise rules). */
describe.each(PROVIDERS)("connection lifecycle on $name", (provider) => {
  let berth: BerthServer;
  let account: Account;
  let call: ReturnType<typeof api>;
  const env = () => ({
    ...provider.env(),
    BERTH_MAINTENANCE_INTERVAL_MS: "100",
    BERTH_RESTART_LIMIT: "3",
    BERTH_RESTART_BACKOFF_MS: "100",
  });

  beforeAll(async () => {
    await provider.setup();
    berth = await startBerth(env());
    account = (await berth.cli(["accounts", "create", "--name", `Lifecycle ${provider.name}`])) as Account;
    for (const def of [crashingServer(400), slowServer(3000)]) {
      const file = path.join(berth.dataDir, `${def.slug}.json`);
      fs.writeFileSync(file, JSON.stringify(def));
      await berth.cli(["servers", "add", "--file", file]);
    }
    call = api(berth.url, account.api_key);
  });
  afterAll(async () => {
    await berth?.stop();
    await provider.teardown();
  });

  const install = async (extra: Record<string, unknown> = {}) => {
    const res = await call("POST", "/api/mcp-connections/install", {
      account_id: account.account_id,
      server_id: "memory",
      ...extra,
    });
    expect(res.status).toBe(201);
    expect(res.body.data.status).toBe("running");
    return res.body.data as Conn;
  };
  const get = async (id: string) => (await call("GET", `/api/mcp-connections/${id}`)).body.data as Conn;
  /** Every timeline this suite reads is also checked to read the same whoever wrote it. */
  const events = async (id: string) => {
    const list = (await call("GET", `/api/mcp-connections/${id}/events`)).body.data as Event[];
    expectUniformTimeline(list);
    return list;
  };
  const waitFor = (what: string, id: string, ok: (c: Conn) => boolean) =>
    until(what, async () => {
      const c = await get(id);
      return ok(c) ? c : undefined;
    });

  it("installs, runs, answers MCP calls, extends and deletes (sandbox gone)", async () => {
    const conn = await install({ name: "Memory", timeout: 600 });
    expect(provider.sandboxIds(berth)).toContain(conn.sandbox_id);
    expect(provider.processes(berth, conn.sandbox_id).length).toBeGreaterThan(0);

    const client = new Client({ name: "lifecycle", version: "1" });
    await client.connect(
      new StreamableHTTPClientTransport(new URL(conn.mcp_url), {
        requestInit: { headers: { authorization: `Bearer ${account.api_key}` } },
      }),
    );
    await client.callTool({
      name: "create_entities",
      arguments: { entities: [{ name: "e", entityType: "t", observations: ["seen"] }] },
    });
    expect(JSON.stringify((await client.callTool({ name: "read_graph", arguments: {} })).content)).toContain("seen");
    await client.close();

    const extended = await call("POST", `/api/mcp-connections/${conn.id}/extend`, { seconds: 1800 });
    expect(extended.status).toBe(200);
    expect(Date.parse(extended.body.data.expires_at)).toBeGreaterThan(Date.now() + 1790 * 1000);
    if (provider.timeoutCalls) expect(provider.timeoutCalls(conn.sandbox_id).at(-1)).toBeGreaterThan(1790);

    const deleted = await call("DELETE", `/api/mcp-connections/${conn.id}`);
    expect(deleted.body.data.status).toBe("deleted");
    expect(provider.sandboxIds(berth)).not.toContain(conn.sandbox_id);
    expect(provider.processes(berth, conn.sandbox_id)).toEqual([]);
  });

  it("expires a connection without keep_alive at expires_at and stops its sandbox", async () => {
    // E2B counts the timeout from sandbox creation too, so it must outlast the deploy (~2 s there,
    // several on a busy machine).
    const conn = await install({ keep_alive: false, timeout: 10 });
    const expired = await waitFor("expiry", conn.id, (c) => c.status === "expired");
    expect(Date.now()).toBeGreaterThanOrEqual(Date.parse(conn.expires_at));
    expect(expired.sandbox_id).toBeNull();
    await until("the sandbox to go", () => (provider.sandboxIds(berth).includes(conn.sandbox_id) ? undefined : true));
    expect((await events(conn.id))[0]?.type).toBe("expired");
  });

  it("keeps a keep_alive connection running past its timeout", async () => {
    const conn = await install({ keep_alive: true, timeout: 10 });
    await new Promise((r) => setTimeout(r, Date.parse(conn.expires_at) - Date.now() + 1000));
    const c = await get(conn.id);
    expect(c.status).toBe("running");
    expect(c.sandbox_id).toBe(conn.sandbox_id);
    expect(Date.parse(c.expires_at)).toBeGreaterThan(Date.now());
    expect((await events(conn.id)).some((e) => e.type === "extended" && e.data.by === "keep_alive")).toBe(true);
    if (provider.timeoutCalls) expect(provider.timeoutCalls(conn.sandbox_id).length).toBeGreaterThan(0);
    await call("DELETE", `/api/mcp-connections/${conn.id}`);
  });

  it("restarts a crashed server on the same id and URL", async () => {
    const conn = await install();
    for (const pid of provider.processes(berth, conn.sandbox_id)) process.kill(pid, "SIGKILL");
    const back = await waitFor(
      "the crash restart",
      conn.id,
      (c) => c.status === "running" && c.sandbox_id !== conn.sandbox_id,
    );
    expect(back.mcp_url).toBe(conn.mcp_url);
    const list = await events(conn.id);
    expect(list.map((e) => e.type)).toContain("crashed");
    expect(list).toContainEqual(
      expect.objectContaining({ type: "deploying", data: { reason: "crash_restart", by: "system" } }),
    );
    await call("DELETE", `/api/mcp-connections/${conn.id}`);
  });

  it("gives up on a crash loop with the reason recorded", async () => {
    const res = await call("POST", "/api/mcp-connections/install", {
      account_id: account.account_id,
      server_id: "crashes",
    });
    expect(res.body.data.status).toBe("running");
    const id = res.body.data.id;
    const list = await until("the crash loop to be given up", async () => {
      const all = await events(id);
      return all.some((e) => e.type === "failed" && e.data.reason === "crash_loop") ? all : undefined;
    });
    const crashes = [...list].reverse().filter((e) => e.type === "crashed");
    expect(crashes.map((e) => e.data.attempt)).toEqual([1, 2, 3, 4]);
    const conn = await get(id);
    expect(conn.status).toBe("failed");
    expect(conn.last_error).toMatch(/Crash loop: the server crashed 3 times in a row/);
    await new Promise((r) => setTimeout(r, 600));
    expect((await events(id)).length).toBe(list.length); // nothing restarts it any more
    await call("DELETE", `/api/mcp-connections/${id}`);
  });

  it("restarts on request with a new sandbox, and replaces credentials by redeploying", async () => {
    const conn = await install();
    const restarted = await call("POST", `/api/mcp-connections/${conn.id}/restart`);
    expect(restarted.status).toBe(202);
    expect(restarted.body.data).toMatchObject({ id: conn.id, status: "running", mcp_url: conn.mcp_url });
    expect(restarted.body.data.sandbox_id).not.toBe(conn.sandbox_id);
    await until("the old sandbox to go", () =>
      provider.sandboxIds(berth).includes(conn.sandbox_id) ? undefined : true,
    );
    const replaced = await call("PUT", `/api/mcp-connections/${conn.id}/credentials`, { credentials: {} });
    expect(replaced.body.data.status).toBe("running");
    expect(replaced.body.data.sandbox_id).not.toBe(restarted.body.data.sandbox_id);
    const list = await events(conn.id);
    expect(list.map((e) => e.type)).toContain("credentials_updated");
    for (const reason of ["requested", "credentials_updated"])
      expect(list).toContainEqual(expect.objectContaining({ type: "restarted", data: { reason, by: "api_key" } }));
    await call("DELETE", `/api/mcp-connections/${conn.id}`);
  });

  it("brings running connections back after Berth restarts, same id and URL", async () => {
    const conn = await install();
    await berth.stop();
    berth = await startBerth({ ...env(), BERTH_DATA_DIR: berth.dataDir });
    call = api(berth.url, account.api_key);
    const back = await waitFor("recovery", conn.id, (c) => c.status === "running");
    expect(back.mcp_url.endsWith(`/api/mcp/${conn.id}`)).toBe(true);
    expect(provider.processes(berth, back.sandbox_id).length).toBeGreaterThan(0);
    expect((await events(conn.id)).find((e) => e.type === "deploying")?.data).toMatchObject({
      reason: "berth_restarted",
      by: "system",
    });
    await call("DELETE", `/api/mcp-connections/${conn.id}`);
  });

  it("leaves no orphan sandbox and a truthful status when Berth is killed mid-install", async () => {
    const before = new Set(provider.sandboxIds(berth));
    const pending = call("POST", "/api/mcp-connections/install", { account_id: account.account_id, server_id: "slow" });
    pending.catch(() => {}); // Berth dies under it
    const orphan = await until("the sandbox to be created", () =>
      provider.sandboxIds(berth).find((id) => !before.has(id) && provider.processes(berth, id).length > 0),
    );
    berth.proc.kill("SIGKILL");
    await berth.stop();
    berth = await startBerth({ ...env(), BERTH_DATA_DIR: berth.dataDir });
    call = api(berth.url, account.api_key);
    expect(provider.sandboxIds(berth)).not.toContain(orphan);
    expect(provider.processes(berth, orphan)).toEqual([]);
    const conn = ((await call("GET", "/api/mcp-connections")).body.data as (Conn & { server_slug: string })[]).find(
      (c) => c.server_slug === "slow",
    ) as Conn;
    expect(["deploying", "running"]).toContain(conn.status);
    const running = await waitFor("the redeploy", conn.id, (c) => c.status === "running");
    expect(running.sandbox_id).not.toBe(orphan);
    await events(conn.id);
    await call("DELETE", `/api/mcp-connections/${conn.id}`);
  });

  /** Berth SIGKILLed, then started again on the same data. */
  const killAndRestart = async () => {
    berth.proc.kill("SIGKILL");
    await berth.stop();
    berth = await startBerth({ ...env(), BERTH_DATA_DIR: berth.dataDir });
    call = api(berth.url, account.api_key);
  };

  /** The sandboxes Berth's connections hold, and every other one there is (none: no orphans). */
  const orphans = async (ignore: Set<string>) => {
    const held = new Set<string>();
    for (const c of (await call("GET", "/api/mcp-connections")).body.data as Conn[])
      if (c.sandbox_id) held.add(c.sandbox_id);
    return provider
      .sandboxIds(berth)
      .filter((id) => !held.has(id) && !ignore.has(id) && provider.processes(berth, id).length);
  };

  it("leaves one sandbox and a truthful status when Berth is killed mid-restart", async () => {
    const before = new Set(provider.sandboxIds(berth));
    const res = await call("POST", "/api/mcp-connections/install", {
      account_id: account.account_id,
      server_id: "slow",
    });
    expect(res.body.data.status).toBe("running");
    const conn = res.body.data as Conn;
    const pending = call("POST", `/api/mcp-connections/${conn.id}/restart`);
    pending.catch(() => {}); // Berth dies under it
    // The new sandbox exists (its slow server still starting), the old one is stopped or stopping.
    await until("the restart's new sandbox", () =>
      provider
        .sandboxIds(berth)
        .find((id) => !before.has(id) && id !== conn.sandbox_id && provider.processes(berth, id).length > 0),
    );
    await killAndRestart();
    const back = await waitFor("the connection to run again", conn.id, (c) => c.status === "running");
    expect(provider.processes(berth, back.sandbox_id).length).toBeGreaterThan(0);
    expect(await orphans(before)).toEqual([]);
    const list = await events(conn.id);
    expect(list[0]?.type, JSON.stringify(list.map((e) => e.type))).toBe("running");
    await call("DELETE", `/api/mcp-connections/${conn.id}`);
  });

  it("finishes a delete Berth was killed in the middle of, or leaves it to be repeated, never a half", async () => {
    const before = new Set(provider.sandboxIds(berth));
    const conn = await install();
    const pending = call("DELETE", `/api/mcp-connections/${conn.id}`);
    pending.catch(() => {}); // Berth dies under it, or just after
    await new Promise((r) => setTimeout(r, 5));
    await killAndRestart();
    const after = await call("GET", `/api/mcp-connections/${conn.id}`);
    if (after.status === 200) {
      // Not deleted yet: it is whole (running again), and deleting again works.
      const whole = await waitFor("the connection to run again", conn.id, (c) => c.status === "running");
      expect(provider.processes(berth, whole.sandbox_id).length).toBeGreaterThan(0);
      expect((await call("DELETE", `/api/mcp-connections/${conn.id}`)).status).toBe(200);
    } else expect(after.status).toBe(404);
    expect((await call("GET", `/api/mcp-connections/${conn.id}`)).status).toBe(404);
    await until("its sandboxes to be gone", async () => ((await orphans(before)).length ? undefined : true));
  });
});
