import { Client } from "@modelcontextprotocol/sdk/client/index.js";
import { StreamableHTTPClientTransport } from "@modelcontextprotocol/sdk/client/streamableHttp.js";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { api, type BerthServer, newAccount, startBerth } from "../support/berth-server";
import { until } from "../support/until";

const TOKEN = "metrics-token-for-the-operator-0123";
const UUID = /[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}/i;

type Sample = { name: string; labels: Record<string, string>; value: number };

/** Prometheus text format, as far as these assertions need: one sample a line. */
function parse(text: string): Sample[] {
  const samples: Sample[] = [];
  for (const line of text.split("\n")) {
    if (!line || line.startsWith("#")) continue;
    const m = /^(\w+)(?:\{(.*)\})? (\S+)$/.exec(line);
    if (!m) throw new Error(`not a sample: ${line}`);
    const labels = Object.fromEntries(
      [...(m[2] ?? "").matchAll(/(\w+)="((?:[^"\\]|\\.)*)"/g)].map((l) => [l[1], l[2]]),
    );
    samples.push({ name: m[1] as string, labels, value: Number(m[3]) });
  }
  return samples;
}

/** The sum of a metric's samples whose labels include `where`. */
const total = (samples: Sample[], name: string, where: Record<string, string> = {}) =>
  samples
    .filter((s) => s.name === name && Object.entries(where).every(([k, v]) => s.labels[k] === v))
    .reduce((sum, s) => sum + s.value, 0);

describe("GET /api/metrics", () => {
  let berth: BerthServer;
  let account: Awaited<ReturnType<typeof newAccount>>;
  let connectionId: string;
  let provider: string;
  const scrape = async () => {
    const res = await api(berth.url, TOKEN)("GET", "/api/metrics");
    expect(res.status).toBe(200);
    expect(res.headers.get("content-type")).toMatch(/^text\/plain; version=0\.0\.4/);
    return { text: res.text, samples: parse(res.text) };
  };
  const connect = async () => {
    const client = new Client({ name: "metrics-test", version: "1" });
    await client.connect(
      new StreamableHTTPClientTransport(new URL(`${berth.url}/api/mcp/${connectionId}`), {
        requestInit: { headers: { authorization: `Bearer ${account.key}` } },
      }),
    );
    return client;
  };

  beforeAll(async () => {
    berth = await startBerth({
      BERTH_METRICS_TOKEN: TOKEN,
      BERTH_MAINTENANCE_INTERVAL_MS: "200",
      BERTH_IDLE_SLEEP_SECONDS: "2",
    });
    account = await newAccount(berth, "Metered");
    const res = await account.call("POST", "/api/mcp-connections/install", {
      account_id: account.accountId,
      server_id: "memory",
    });
    expect(res.body.data.status).toBe("running");
    connectionId = res.body.data.id;
    provider = res.body.data.provider;
  });
  afterAll(async () => {
    await berth?.stop();
  });

  it("is the operator's: no token, a wrong one or an account's API key answer 401 in the error shape", async () => {
    for (const key of [undefined, account.key, `${TOKEN}x`, TOKEN.slice(0, -1)]) {
      const res = await api(berth.url, key)("GET", "/api/metrics");
      expect(res.status).toBe(401);
      expect(res.body.error.code).toBe("unauthorized");
      expect(res.text).not.toContain("berth_");
    }
  });

  it("counts deploys, connections, tool calls with errors and latency by server, sandbox-seconds and maintenance", async () => {
    const before = (await scrape()).samples;
    const client = await connect();
    for (let i = 0; i < 3; i++) await client.callTool({ name: "read_graph", arguments: {} });
    // An unknown tool: the server answers an error (JSON-RPC or isError), counted as one.
    await client.callTool({ name: "no_such_tool", arguments: {} }).catch(() => {});
    await client.close();

    const { samples, text } = await scrape();
    const server = { server: "memory" };
    expect(total(samples, "berth_tool_calls_total", server) - total(before, "berth_tool_calls_total", server)).toBe(4);
    expect(total(samples, "berth_tool_call_errors_total", server)).toBe(1);
    expect(total(samples, "berth_tool_call_duration_seconds_count", server)).toBe(4);
    expect(total(samples, "berth_tool_call_duration_seconds_sum", server)).toBeGreaterThan(0);
    expect(
      total(samples, "berth_deploy_duration_seconds_count", { provider, outcome: "running" }),
    ).toBeGreaterThanOrEqual(1);
    expect(
      total(samples, "berth_connections", { status: "running", provider, scope: "database" }),
    ).toBeGreaterThanOrEqual(1);
    expect(total(samples, "berth_sandbox_seconds_total", { account_id: account.accountId, provider })).toBeGreaterThan(
      0,
    );
    expect(total(samples, "berth_maintenance_pass_duration_seconds_count", { outcome: "ok" })).toBeGreaterThan(0);
    expect(total(samples, "berth_maintenance_lag_seconds")).toBeLessThan(5);
    expect(total(samples, "process_cpu_seconds_total")).toBeGreaterThan(0);

    // The one id a label holds is the account's, in `account_id`; no connection id, no key.
    for (const s of samples)
      for (const [label, value] of Object.entries(s.labels))
        if (UUID.test(value)) expect({ metric: s.name, label }).toMatchObject({ label: "account_id" });
    expect(text).not.toContain(connectionId);
    expect(text).not.toContain(account.key);
  });

  it("times a wake: the connection sleeps when idle, the next request wakes it", async () => {
    await until("the connection to sleep", async () => {
      const res = await account.call("GET", `/api/mcp-connections/${connectionId}`);
      return res.body.data.status === "sleeping" ? true : undefined;
    });
    const before = (await scrape()).samples;
    expect(total(before, "berth_connections", { status: "sleeping", provider })).toBe(1);
    const client = await connect();
    await client.callTool({ name: "read_graph", arguments: {} });
    await client.close();
    const { samples } = await scrape();
    const wakes = (s: Sample[]) => total(s, "berth_wake_duration_seconds_count", { provider });
    expect(wakes(samples) - wakes(before)).toBe(1);
    expect(total(samples, "berth_wake_duration_seconds_sum", { provider })).toBeGreaterThan(0);
  });
});
