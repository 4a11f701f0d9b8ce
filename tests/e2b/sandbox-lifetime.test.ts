import { Client } from "@modelcontextprotocol/sdk/client/index.js";
import { StreamableHTTPClientTransport } from "@modelcontextprotocol/sdk/client/streamableHttp.js";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { FakeE2B } from "../fakes/e2b-server";
import { type api, type BerthServer, newAccount, startBerth } from "../support/berth-server";
import { expectUniformTimeline } from "../support/timeline";
import { until } from "../support/until";

const support = FakeE2B.supported();
if (!support.ok) console.log(`[e2b sandbox lifetime] skipped: ${support.reason}`);

type Event = { type: string; data: Record<string, unknown> };

/**
 * E2B ends a sandbox at its lifetime cap however often it is extended: a keep-alive connection's
 * sandbox is replaced before then (at cap − 300 s, at least 60 s old), under the same id and URL,
 * its timeline reading like any other restart. The smallest cap (300 s) makes that 60 s here.
 */
describe.skipIf(!support.ok)("a keep-alive connection outliving E2B's sandbox lifetime", () => {
  let fake: FakeE2B;
  let berth: BerthServer;
  let call: ReturnType<typeof api>;
  let accountId: string;
  let apiKey: string;

  beforeAll(async () => {
    fake = await FakeE2B.start();
    berth = await startBerth({
      ...fake.berthEnv(),
      E2B_MAX_LIFETIME_SECONDS: "300",
      BERTH_MAINTENANCE_INTERVAL_MS: "500",
    });
    ({ accountId, call, key: apiKey } = await newAccount(berth, "Lifetime"));
  });
  afterAll(async () => {
    await berth?.stop();
    await fake?.close();
  });

  it("moves to a new sandbox before the cap, same id and URL, recorded as a restart by the system", async () => {
    const res = await call("POST", "/api/mcp-connections/install", {
      account_id: accountId,
      server_id: "memory",
      keep_alive: true,
      timeout: 600,
    });
    expect(res.status).toBe(201);
    const conn = res.body.data as { id: string; sandbox_id: string; mcp_url: string };
    const moved = await until(
      "the sandbox to be replaced",
      async () => {
        const c = (await call("GET", `/api/mcp-connections/${conn.id}`)).body.data;
        return c.status === "running" && c.sandbox_id !== conn.sandbox_id ? c : undefined;
      },
      120_000,
    );
    expect(moved.mcp_url).toBe(conn.mcp_url);
    expect(fake.sandboxIds()).toContain(moved.sandbox_id);
    expect(fake.sandboxIds()).not.toContain(conn.sandbox_id);

    const events = (await call("GET", `/api/mcp-connections/${conn.id}/events`)).body.data as Event[];
    expectUniformTimeline(events);
    const oldestFirst = [...events].reverse().map((e) => [e.type, e.data]);
    const restart = oldestFirst.findIndex(([type]) => type === "restarted");
    expect(oldestFirst.slice(restart), JSON.stringify(oldestFirst)).toEqual([
      ["restarted", { reason: "sandbox_lifetime", by: "system" }],
      ["deploying", { reason: "sandbox_lifetime", by: "system" }],
      ["running", { sandbox_id: moved.sandbox_id }],
    ]);

    const client = new Client({ name: "lifetime", version: "1" });
    await client.connect(
      new StreamableHTTPClientTransport(new URL(conn.mcp_url), {
        requestInit: { headers: { authorization: `Bearer ${apiKey}` } },
      }),
    );
    expect((await client.listTools()).tools.length).toBeGreaterThan(0);
    await client.close();
    await call("DELETE", `/api/mcp-connections/${conn.id}`);
  }, 180_000);
});
