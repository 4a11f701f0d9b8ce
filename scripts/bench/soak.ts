// `npm run bench:soak`: a long steady load through the gateway, with sleeps, wakes and client
// reconnects in it. 20 `memory` connections on local sandboxes (Berth on PostgreSQL, so the
// events are counted in SQL), an open-loop 100 tool calls/s of mixed tools over them; a few
// connections get bursts separated by gaps longer than the idle time, so they sleep and wake
// throughout; every client reconnects (a new MCP session) each minute. Latency, errors, Berth's RSS
// and CPU every 10 s, and whether any sandbox was restarted other than by a wake. Production
// build. Prints JSON and updates docs/PERFORMANCE.md.
import crypto from "node:crypto";
import os from "node:os";
import { performance } from "node:perf_hooks";
import { parseArgs } from "node:util";
import type { Client } from "@modelcontextprotocol/sdk/client/index.js";
import pg from "pg";
import { newAccount, startBerth } from "../../tests/support/berth-server";
import { createPostgresDatabase } from "../../tests/support/databases";
import { ownTempRoot } from "../../tests/support/temp-dirs";
import { callTool, mcpClient } from "./clients";
import { describeSandbox, type Headline, machine, processUsage, round, summarize, updatePerformanceDoc } from "./stats";

// Data dirs and files this run makes in the temp dir go when it exits.
ownTempRoot();

const { values } = parseArgs({
  options: {
    minutes: { type: "string", default: "10" },
    rate: { type: "string", default: "100" },
    connections: { type: "string", default: "20" },
    sleepers: { type: "string", default: "5" },
    "idle-seconds": { type: "string", default: "30" },
  },
});
const MINUTES = Number(values.minutes);
const RATE = Number(values.rate);
const CONNECTIONS = Number(values.connections);
/** Connections with bursts and gaps, so that they sleep and wake; the others take load throughout. */
const SLEEPERS = Number(values.sleepers);
const IDLE_SECONDS = Number(values["idle-seconds"]);
const BURST_MS = 20_000;
/** Longer than the idle time plus a maintenance pass and the sleep itself. */
const GAP_MS = IDLE_SECONDS * 1000 + 8_000;
const RECONNECT_MS = 60_000;
const SAMPLE_MS = 10_000;
const CALL_TIMEOUT_MS = 30_000;
/** Entities per connection: create_entities reuses names, so graphs (and read_graph answers) stay small. */
const NAMES = 40;

type Conn = { id: string; mcp_url: string };
type Slot = { conn: Conn; client: Promise<Client>; sleeper: boolean; offset: number; reconnects: number };

/** The mix: mostly reads, as agents do, with writes to keep the graph changing. */
function nextCall(i: number): [string, Record<string, unknown>] {
  const name = `e-${i % NAMES}`;
  const r = i % 10;
  if (r < 3) return ["read_graph", {}];
  if (r < 6) return ["search_nodes", { query: `e-${i % 7}` }];
  if (r < 7) return ["open_nodes", { names: [name] }];
  if (r < 9) return ["create_entities", { entities: [{ name, entityType: "soak", observations: [`o${i}`] }] }];
  return ["add_observations", { observations: [{ entityName: `e-${i % 5}`, contents: [`x${i % 50}`] }] }];
}

async function main() {
  const database = await createPostgresDatabase();
  const berth = await startBerth({
    LOG_LEVEL: "error",
    DATABASE_URL: database.url,
    BERTH_ENCRYPTION_KEYS: `soak:${crypto.randomBytes(32).toString("base64")}`,
    BERTH_IDLE_SLEEP_SECONDS: String(IDLE_SECONDS),
    BERTH_MAINTENANCE_INTERVAL_MS: "1000",
    BERTH_API_REQUESTS_PER_SECOND: "10000",
  });
  const sql = new pg.Client({ connectionString: database.url });
  await sql.connect();
  const pid = berth.proc.pid as number;
  try {
    const account = await newAccount(berth, "Soak");
    const endpoint = (conn: Conn) => new URL(new URL(conn.mcp_url).pathname, berth.url).toString();
    const slots: Slot[] = [];
    for (let i = 0; i < CONNECTIONS; i++) {
      const res = await account.call("POST", "/api/mcp-connections/install", {
        account_id: account.accountId,
        server_id: "memory",
      });
      if (res.body?.data?.status !== "running") throw new Error(`install: ${res.status} ${res.text.slice(0, 300)}`);
      const conn = res.body.data as Conn;
      const sleeper = i < SLEEPERS;
      slots.push({
        conn,
        client: mcpClient(endpoint(conn), account.key, `soak-${i}`),
        sleeper,
        // Sleepers start their cycles at different points; reconnects are staggered over the minute.
        offset: sleeper ? Math.round((i * (BURST_MS + GAP_MS)) / SLEEPERS) : 0,
        reconnects: 0,
      });
    }
    // Every entity the calls name exists from the start, so add_observations and open_nodes find theirs.
    const seed = Array.from({ length: NAMES }, (_, i) => ({ name: `e-${i}`, entityType: "soak", observations: [] }));
    await Promise.all(slots.map(async (s) => callTool(await s.client, "create_entities", { entities: seed })));

    const latencies: number[] = [];
    const errors: string[] = [];
    let sent = 0;
    const inFlight = new Set<Promise<void>>();
    const samples: { t_s: number; rss_mib: number; cpu_s: number; load1: number }[] = [];
    const t0 = performance.now();
    const durationMs = MINUTES * 60_000;
    const active = (s: Slot, now: number) => !s.sleeper || (now + s.offset) % (BURST_MS + GAP_MS) < BURST_MS;
    const sample = () => {
      const u = processUsage(pid);
      if (u) samples.push({ t_s: round((performance.now() - t0) / 1000), ...u, load1: round(os.loadavg()[0] ?? 0) });
    };
    sample();
    const sampler = setInterval(sample, SAMPLE_MS);
    // Every client is replaced by a new session once a minute, staggered; the old one is closed
    // once its calls are done. A reconnect must never restart the sandbox.
    const reconnector = setInterval(() => {
      const elapsed = performance.now() - t0;
      const due = slots[Math.floor(elapsed / (RECONNECT_MS / slots.length)) % slots.length] as Slot;
      const old = due.client;
      due.client = mcpClient(endpoint(due.conn), account.key, "soak-reconnected");
      due.reconnects++;
      setTimeout(() => void old.then((c) => c.close()).catch(() => {}), CALL_TIMEOUT_MS);
    }, RECONNECT_MS / slots.length);

    // Open loop: call i is due at t0 + i/RATE, whether or not earlier ones were answered, and its
    // latency counts from when it was due (a stalled gateway cannot hide behind a slowed client).
    let rr = 0;
    while (performance.now() - t0 < durationMs) {
      const due = t0 + (sent * 1000) / RATE;
      const wait = due - performance.now();
      if (wait > 0) await new Promise((r) => setTimeout(r, wait));
      const now = performance.now() - t0;
      const candidates = slots.filter((s) => active(s, now));
      const slot = candidates[rr++ % candidates.length] as Slot;
      const [tool, args] = nextCall(sent);
      sent++;
      const p = slot.client
        .then((c) => callTool(c, tool, args, CALL_TIMEOUT_MS))
        .then(
          () => void latencies.push(performance.now() - due),
          (err: Error) => void errors.push(`${tool}: ${err.message.slice(0, 160)}`),
        );
      inFlight.add(p);
      void p.finally(() => inFlight.delete(p));
    }
    await Promise.all(inFlight);
    const seconds = (performance.now() - t0) / 1000;
    clearInterval(reconnector);
    clearInterval(sampler);
    sample();
    await new Promise((r) => setTimeout(r, 1500)); // the last tool-call events are flushed

    const events = (
      await sql.query(
        `select type, data->>'reason' as reason, count(*)::int as n from connection_events
         where type <> 'tool_call' group by 1, 2 order by 1, 2`,
      )
    ).rows as { type: string; reason: string | null; n: number }[];
    const count = (type: string, reason?: string) =>
      events
        .filter((e) => e.type === type && (reason === undefined || e.reason === reason))
        .reduce((a, e) => a + e.n, 0);
    const toolCallEvents = Number(
      (await sql.query("select count(*)::int as n from connection_events where type = 'tool_call'")).rows[0]?.n,
    );
    const deploysNotByWakeOrInstall = events
      .filter((e) => e.type === "deploying" && e.reason !== "woke" && e.reason !== "installed")
      .reduce((a, e) => a + e.n, 0);
    const first = samples.filter((s) => s.t_s <= 60);
    const last = samples.filter((s) => s.t_s >= seconds - 60);
    const mean = (xs: number[]) => round(xs.reduce((a, b) => a + b, 0) / Math.max(1, xs.length));
    const rssFirst = mean(first.map((s) => s.rss_mib));
    const rssLast = mean(last.map((s) => s.rss_mib));
    const cpuS = (samples.at(-1)?.cpu_s ?? 0) - (samples[0]?.cpu_s ?? 0);
    const lat = summarize(latencies);
    const errorRate = round((errors.length / Math.max(1, sent)) * 100);
    const reconnects = slots.reduce((a, s) => a + s.reconnects, 0);
    const result = {
      ...machine(),
      sandbox: (await account.call("GET", "/api/health")).body?.sandbox,
      minutes: MINUTES,
      target_rate: RATE,
      connections: CONNECTIONS,
      sleepers: SLEEPERS,
      idle_seconds: IDLE_SECONDS,
      burst_s: BURST_MS / 1000,
      gap_s: GAP_MS / 1000,
      sent,
      achieved_rate: round(sent / seconds),
      answered: latencies.length,
      errors: errors.length,
      error_rate_pct: errorRate,
      error_examples: [...new Set(errors)].slice(0, 5),
      latency: lat,
      client_reconnects: reconnects,
      events: {
        slept: count("slept"),
        woke: count("woke"),
        restarted: count("restarted"),
        crashed: count("crashed"),
        failed: count("failed"),
        deploys_not_by_wake_or_install: deploysNotByWakeOrInstall,
        tool_call_events: toolCallEvents,
        by_type: events,
      },
      berth_rss_mib: { first_minute: rssFirst, last_minute: rssLast, ratio: round(rssLast / rssFirst) },
      berth_cpu_pct_of_one_core: round((cpuS / seconds) * 100),
      samples,
    };
    const noRestarts = result.events.restarted === 0 && result.events.crashed === 0 && deploysNotByWakeOrInstall === 0;
    const headline: Headline[] = [
      {
        what: "soak p95 (100 calls/s over 20 connections)",
        value: `${lat.p95_ms} ms`,
        goal: "< 200 ms",
        met: lat.p95_ms < 200,
      },
      { what: "soak errors", value: `${errorRate} %`, goal: "< 1 %", met: errorRate < 1 },
      {
        what: `soak: sandboxes restarted by ${reconnects} client reconnects (restarted/crashed/other deploys)`,
        value: `${result.events.restarted}/${result.events.crashed}/${deploysNotByWakeOrInstall}`,
        goal: "0/0/0",
        met: noRestarts,
      },
      { what: "soak: sleeps / wakes", value: `${result.events.slept} / ${result.events.woke}` },
      {
        what: "soak: Berth RSS last ÷ first minute",
        value: result.berth_rss_mib.ratio,
        goal: "flat (≤ 1.1)",
        met: result.berth_rss_mib.ratio <= 1.1,
      },
    ];
    const out = { ...result, headline };
    console.log(JSON.stringify(out, null, 2));
    updatePerformanceDoc("bench-soak", doc(out));
  } finally {
    await sql.end();
    await berth.stop();
    await database.drop();
  }
}

function doc(r: Record<string, any>) {
  const rss = r.samples.map((s: { rss_mib: number }) => Math.round(s.rss_mib));
  return [
    "## Soak (`npm run bench:soak`)",
    "",
    `${r.at}, Node ${r.node}, ${r.cpus} CPUs, load at the start ${r.loadavg.join(" ")}. ${r.minutes} min, open loop at ${r.target_rate} tool calls/s (achieved ${r.achieved_rate}; each call's latency counted from when it was due), mixed \`read_graph\`, \`search_nodes\`, \`open_nodes\`, \`create_entities\`, \`add_observations\` over ${r.connections} \`memory\` connections, one SDK client each. ${r.sleepers} of them get ${r.burst_s} s bursts separated by ${r.gap_s} s gaps (idle sleep after ${r.idle_seconds} s), so they sleep and wake throughout; every client is replaced by a new MCP session once a minute (${r.client_reconnects} reconnects). Berth on PostgreSQL (events counted in SQL), local sandboxes (${describeSandbox(r.sandbox)}), production build.`,
    "",
    "| | p50 ms | p95 ms | p99 ms | max ms | calls | errors |",
    "|---|---|---|---|---|---|---|",
    `| tool calls | ${r.latency.p50_ms} | **${r.latency.p95_ms}** (goal < 200) | ${r.latency.p99_ms} | ${r.latency.max_ms} | ${r.sent} | **${r.errors} (${r.error_rate_pct} %)** (goal < 1 %) |`,
    "",
    `- Sleeps / wakes: **${r.events.slept} / ${r.events.woke}**; restarted ${r.events.restarted}, crashed ${r.events.crashed}, failed ${r.events.failed}, deploys for any reason but a wake or the install: **${r.events.deploys_not_by_wake_or_install}**, so the client reconnects restarted no sandbox. ${r.events.tool_call_events} tool-call events recorded.`,
    `- Berth's RSS: first minute ${r.berth_rss_mib.first_minute} MiB, last minute ${r.berth_rss_mib.last_minute} MiB (**${r.berth_rss_mib.ratio}×**); every 10 s: ${rss.join(", ")}. Berth's CPU: ${r.berth_cpu_pct_of_one_core} % of one core.`,
    ...(r.error_examples.length ? [`- Errors seen: ${r.error_examples.join("; ")}`] : []),
  ].join("\n");
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
