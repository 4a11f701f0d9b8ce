// `npm run bench:gateway`: the cost of an MCP tool call through Berth's gateway, against the
// same server and tool reached directly over stdio and through an unmanaged stateful Streamable
// HTTP bridge (supergateway --stateful), all in the same run, with the same client (the MCP
// SDK's). Production build, auth and audit on. Prints JSON and updates docs/PERFORMANCE.md.
import { type ChildProcess, spawn } from "node:child_process";
import fs from "node:fs";
import path from "node:path";
import { performance } from "node:perf_hooks";
import { parseArgs } from "node:util";
import { Client } from "@modelcontextprotocol/sdk/client/index.js";
import { StdioClientTransport } from "@modelcontextprotocol/sdk/client/stdio.js";
import { StreamableHTTPClientTransport } from "@modelcontextprotocol/sdk/client/streamableHttp.js";
import { PROJECT_MODULES, resolvePreparedCommand } from "@/lib/sandbox/start-command";
import { api, freePort, startBerth } from "../../tests/support/berth-server";
import { ownTempRoot, tempDir } from "../../tests/support/temp-dirs";

import { describeSandbox, type Headline, machine, round, summarize, updatePerformanceDoc } from "./stats";

// Data dirs and files this run makes in the temp dir go when it exits.
ownTempRoot();

const { values } = parseArgs({
  options: {
    calls: { type: "string", default: "500" },
    warmup: { type: "string", default: "50" },
    concurrency: { type: "string", default: "8" },
    "concurrent-calls": { type: "string", default: "2000" },
    rounds: { type: "string", default: "5" },
  },
});
const CALLS = Number(values.calls);
const WARMUP = Number(values.warmup);
const CONC = Number(values.concurrency);
const CCALLS = Number(values["concurrent-calls"]);
const ROUNDS = Number(values.rounds);
/** Sequential calls go in turns of this many per mode: few enough to cancel drift, enough that each path stays as warm as under a busy agent. */
const BLOCK = 50;
const MEMORY = resolvePreparedCommand(["npx", "-y", "@modelcontextprotocol/server-memory@2026.8.31"], PROJECT_MODULES);
const SUPERGATEWAY = path.resolve("node_modules/supergateway/dist/index.js");
const BARE_RELAY = path.resolve(import.meta.dirname, "bare-relay.ts");

type Measured = {
  p50_ms: number;
  p95_ms: number;
  p99_ms: number;
  seq_calls_per_s: number;
  conc_calls_per_s: number;
  /** CPU time per call at concurrency 8, in µs: the bench's SDK client, the bridge process, the MCP server's processes. */
  cpu_us_per_call: { client: number; bridge: number | null; server: number };
};
type Mode = "stdio" | "bare_relay" | "supergateway_stateful" | "berth_gateway";
type Cpu = { client: number; bridge: number; server: number };
type Round = Record<Mode, { latencies: number[]; concSeconds: number; cpuMs: Cpu }>;

/** Linux's clock ticks per second (USER_HZ), the unit of /proc/<pid>/stat's CPU times. */
const TICKS_PER_S = 100;

/**
 * CPU time (ms) of a process, and of all its descendants together, from /proc: Berth's sandboxed
 * server runs under bubblewrap, a few processes below Berth.
 */
function cpuOfTree(pid: number): { self: number; descendants: number } {
  const stats = new Map<number, { ppid: number; ms: number }>();
  for (const entry of fs.readdirSync("/proc")) {
    if (!/^\d+$/.test(entry)) continue;
    let text: string;
    try {
      text = fs.readFileSync(`/proc/${entry}/stat`, "utf8");
    } catch {
      continue; // exited meanwhile
    }
    // Fields after the command (which may hold spaces): state ppid … utime(14) stime(15).
    const f = text.slice(text.lastIndexOf(")") + 2).split(" ");
    stats.set(Number(entry), { ppid: Number(f[1]), ms: ((Number(f[11]) + Number(f[12])) * 1000) / TICKS_PER_S });
  }
  let descendants = 0;
  const below = [pid];
  while (below.length) {
    const parent = below.pop();
    for (const [child, st] of stats) {
      if (st.ppid !== parent) continue;
      descendants += st.ms;
      below.push(child);
    }
  }
  return { self: stats.get(pid)?.ms ?? 0, descendants };
}

/** CPU used so far by the bench's client, the mode's bridge and its MCP server (ms). */
function cpuNow(target: Target): Cpu {
  const { user, system } = process.cpuUsage();
  const client = (user + system) / 1000;
  if (target.bridgePid === undefined) return { client, bridge: 0, server: cpuOfTree(target.serverPid ?? 0).self };
  const tree = cpuOfTree(target.bridgePid);
  return { client, bridge: tree.self, server: tree.descendants };
}

async function call(client: Client, name: string, args: Record<string, unknown>) {
  const r = await client.callTool({ name, arguments: args }, undefined, { timeout: 10_000 });
  if (r.isError) throw new Error(`${name} failed: ${JSON.stringify(r.content).slice(0, 200)}`);
  return r;
}

/**
 * The shared MCP baseline benchmark's method (one create_entities, warm-up, sequential
 * read_graph calls, then a burst at concurrency 8), run in rounds on long-lived servers with the
 * modes interleaved: sequential calls take turns every BLOCK calls, bursts take turns each round.
 * Drift on this shared machine then hits every mode alike.
 */
async function measureAll(targets: Record<Mode, Target>): Promise<Round[]> {
  const modes = Object.keys(targets) as Mode[];
  for (const m of modes) {
    const { client } = targets[m];
    await call(client, "create_entities", { entities: [{ name: "bench", entityType: "bench", observations: ["x"] }] });
    if (!JSON.stringify((await call(client, "read_graph", {})).content).includes("bench"))
      throw new Error(`${m}: entity missing`);
  }
  const rounds: Round[] = [];
  for (let r = 0; r < ROUNDS; r++) {
    for (let i = 0; i < WARMUP; i++) for (const m of modes) await call(targets[m].client, "read_graph", {});
    const round = Object.fromEntries(
      modes.map((m) => [m, { latencies: [] as number[], concSeconds: 0, cpuMs: { client: 0, bridge: 0, server: 0 } }]),
    ) as Round;
    for (let i = 0; i < CALLS; i += BLOCK) {
      for (const m of modes) {
        for (let j = i; j < Math.min(i + BLOCK, CALLS); j++) {
          const s = performance.now();
          await call(targets[m].client, "read_graph", {});
          round[m].latencies.push(performance.now() - s);
        }
      }
    }
    for (const m of modes) {
      let next = 0;
      const before = cpuNow(targets[m]);
      const t = performance.now();
      await Promise.all(
        Array.from({ length: CONC }, async () => {
          while (next++ < CCALLS) await call(targets[m].client, "read_graph", {});
        }),
      );
      round[m].concSeconds = (performance.now() - t) / 1000;
      const after = cpuNow(targets[m]);
      round[m].cpuMs = {
        client: after.client - before.client,
        bridge: after.bridge - before.bridge,
        server: after.server - before.server,
      };
    }
    rounds.push(round);
  }
  return rounds;
}

/** One mode's figures over all rounds: latencies pooled, throughput as calls over time. */
function figures(rounds: Round[], m: Mode): Measured {
  const lat = rounds.flatMap((r) => r[m].latencies);
  const s = summarize(lat);
  const sorted = [...lat].sort((a, b) => a - b);
  const seconds = (xs: number[]) => xs.reduce((a, b) => a + b, 0) / 1000;
  const perCall = (part: keyof Cpu) =>
    Math.round((rounds.reduce((a, r) => a + r[m].cpuMs[part], 0) * 1000) / (CCALLS * rounds.length));
  return {
    p50_ms: s.p50_ms,
    p95_ms: s.p95_ms,
    p99_ms: round(sorted[Math.ceil(0.99 * sorted.length) - 1] as number),
    seq_calls_per_s: Math.round(lat.length / seconds(lat)),
    conc_calls_per_s: Math.round((CCALLS * rounds.length) / rounds.reduce((a, r) => a + r[m].concSeconds, 0)),
    cpu_us_per_call: {
      client: perCall("client"),
      bridge: m === "stdio" ? null : perCall("bridge"),
      server: perCall("server"),
    },
  };
}

const memFile = () => path.join(tempDir("bench-gw-"), "memory.jsonl");

/** `bridgePid`: the HTTP bridge's process (its descendants are the MCP server); `serverPid`: the server's, without a bridge. */
type Target = { client: Client; bridgePid?: number; serverPid?: number; sandbox?: unknown; close(): Promise<void> };

async function direct(): Promise<Target> {
  const [command, ...args] = MEMORY;
  const transport = new StdioClientTransport({
    command: command as string,
    args,
    env: { PATH: process.env.PATH ?? "", MEMORY_FILE_PATH: memFile() },
    stderr: "ignore",
  });
  const client = new Client({ name: "bench", version: "1" });
  await client.connect(transport);
  return { client, serverPid: transport.pid ?? undefined, close: () => client.close() };
}

/** A bridge process serving MCP on `http://127.0.0.1:<port>/mcp`, and a client connected to it. */
async function httpBridge(argv: (port: number) => string[]): Promise<Target> {
  const port = await freePort();
  const bridge: ChildProcess = spawn(process.execPath, argv(port), {
    env: { ...process.env, MEMORY_FILE_PATH: memFile() },
    stdio: "ignore",
  });
  const deadline = Date.now() + 20_000;
  for (;;) {
    const client = new Client({ name: "bench", version: "1" });
    try {
      await client.connect(new StreamableHTTPClientTransport(new URL(`http://127.0.0.1:${port}/mcp`)));
      return {
        client,
        bridgePid: bridge.pid,
        async close() {
          await client.close();
          bridge.kill("SIGTERM");
        },
      };
    } catch (err) {
      if (Date.now() > deadline) {
        bridge.kill("SIGTERM");
        throw err;
      }
      await new Promise((r) => setTimeout(r, 50));
    }
  }
}

const q = (s: string) => `'${s.replaceAll("'", "'\\''")}'`;
const supergateway = () =>
  httpBridge((port) => [
    SUPERGATEWAY,
    "--stdio",
    MEMORY.map(q).join(" "),
    "--outputTransport",
    "streamableHttp",
    "--stateful",
    "--port",
    String(port),
    "--logLevel",
    "none",
  ]);
const bareRelay = () => httpBridge((port) => ["--import", "tsx", BARE_RELAY, String(port), ...MEMORY]);

async function viaBerth(): Promise<Target> {
  const berth = await startBerth({ LOG_LEVEL: "error" });
  try {
    const account = (await berth.cli(["accounts", "create", "--name", "Bench"])) as {
      account_id: string;
      api_key: string;
    };
    const call = api(berth.url, account.api_key);
    const conn = (
      await call("POST", "/api/mcp-connections/install", { account_id: account.account_id, server_id: "memory" })
    ).body.data;
    const client = new Client({ name: "bench", version: "1" });
    await client.connect(
      new StreamableHTTPClientTransport(new URL(`${berth.url}/api/mcp/${conn.id}`), {
        requestInit: { headers: { authorization: `Bearer ${account.api_key}` } },
      }),
    );
    const sandbox = (await call("GET", "/api/health")).body.sandbox;
    return {
      client,
      bridgePid: berth.proc.pid,
      sandbox,
      async close() {
        await client.close();
        await berth.stop();
      },
    };
  } catch (err) {
    await berth.stop();
    throw err;
  }
}

async function main() {
  const targets = {
    stdio: await direct(),
    bare_relay: await bareRelay(),
    supergateway_stateful: await supergateway(),
    berth_gateway: await viaBerth(),
  };
  let rounds: Round[];
  try {
    rounds = await measureAll(targets);
  } finally {
    await Promise.all(Object.values(targets).map((t) => t.close()));
  }
  const stdio = figures(rounds, "stdio");
  const bare = figures(rounds, "bare_relay");
  const bridge = figures(rounds, "supergateway_stateful");
  const gateway = figures(rounds, "berth_gateway");
  // The headline: Berth against the bare relay, the floor of any HTTP bridge, in the same run.
  const perRound = rounds.map((r) => {
    const p50 = (m: Mode) => summarize(r[m].latencies).p50_ms;
    return {
      p50: round(p50("berth_gateway") / p50("bare_relay")),
      throughput: round(r.bare_relay.concSeconds / r.berth_gateway.concSeconds),
    };
  });
  const out = {
    ...machine(),
    calls: CALLS,
    warmup: WARMUP,
    concurrency: CONC,
    concurrent_calls: CCALLS,
    rounds: ROUNDS,
    sandbox: targets.berth_gateway.sandbox,
    modes: { stdio, bare_relay: bare, supergateway_stateful: bridge, berth_gateway: gateway },
    ratios: {
      p50_vs_bare_relay: round(gateway.p50_ms / bare.p50_ms),
      conc_throughput_vs_bare_relay: round(gateway.conc_calls_per_s / bare.conc_calls_per_s),
      per_round_vs_bare_relay: perRound,
      p50_vs_supergateway: round(gateway.p50_ms / bridge.p50_ms),
      conc_throughput_vs_supergateway: round(gateway.conc_calls_per_s / bridge.conc_calls_per_s),
      p50_added_over_stdio_ms: round(gateway.p50_ms - stdio.p50_ms),
      p50_added_over_bare_relay_ms: round(gateway.p50_ms - bare.p50_ms),
    },
    goals: { p50_vs_bare_relay: "≤ 1.15", conc_throughput_vs_bare_relay: "≥ 1.0" },
  };
  const goals: Headline[] = [
    {
      what: "gateway p50 ÷ bare relay p50",
      value: out.ratios.p50_vs_bare_relay,
      goal: "≤ 1.15",
      met: out.ratios.p50_vs_bare_relay <= 1.15,
    },
    {
      what: `gateway ÷ bare relay throughput at ${CONC}`,
      value: out.ratios.conc_throughput_vs_bare_relay,
      goal: "≥ 1.0",
      met: out.ratios.conc_throughput_vs_bare_relay >= 1,
    },
  ];
  console.log(JSON.stringify({ ...out, headline: goals }, null, 2));
  const met = (ok: boolean) => (ok ? "met" : "not met");
  const headline = `Berth p50 ÷ bare relay p50: **${out.ratios.p50_vs_bare_relay}** (goal ≤ 1.15, ${met(out.ratios.p50_vs_bare_relay <= 1.15)}). Berth ÷ bare relay throughput at ${CONC}: **${out.ratios.conc_throughput_vs_bare_relay}** (goal ≥ 1.0, ${met(out.ratios.conc_throughput_vs_bare_relay >= 1)}).`;
  console.log(headline.replaceAll("**", ""));
  const row = (name: string, m: Measured) => {
    const cpu = m.cpu_us_per_call;
    return `| ${name} | ${m.p50_ms} | ${m.p95_ms} | ${m.p99_ms} | ${m.seq_calls_per_s} | ${m.conc_calls_per_s} | ${cpu.client} / ${cpu.bridge ?? "—"} / ${cpu.server} |`;
  };
  updatePerformanceDoc(
    "bench-gateway",
    [
      "## MCP tool calls (`npm run bench:gateway`)",
      "",
      `${out.at}, Node ${out.node}, ${out.cpus} CPUs, load ${out.loadavg.join(" ")}. memory's \`read_graph\` after one \`create_entities\`, the same SDK client for every mode, each mode on one long-lived server; ${ROUNDS} rounds, each of ${WARMUP} warm-up and ${CALLS} sequential calls per mode (the modes taking turns every ${BLOCK} calls), then ${CCALLS} calls at concurrency ${CONC} per mode (taking turns). Berth with API-key auth and the audit log on, production build.`,
      `Sandbox: ${describeSandbox(out.sandbox)}`,
      "",
      headline,
      `Per round (p50 ratio / throughput ratio against the bare relay): ${perRound.map((r) => `${r.p50} / ${r.throughput}`).join(", ")}.`,
      "",
      `| mode | p50 ms | p95 ms | p99 ms | sequential calls/s | calls/s at ${CONC} | CPU µs per call at ${CONC}: client / bridge / server |`,
      "|---|---|---|---|---|---|---|",
      row("direct stdio (no bridge)", stdio),
      row("bare node:http relay (lower bound for a bridge)", bare),
      row("supergateway --stateful (unmanaged bridge)", bridge),
      row("Berth gateway `/api/mcp/:id`", gateway),
      "",
      `Against supergateway: p50 ${out.ratios.p50_vs_supergateway}×, throughput at ${CONC} ${out.ratios.conc_throughput_vs_supergateway}×. p50 added over direct stdio: ${out.ratios.p50_added_over_stdio_ms} ms; over the bare relay: ${out.ratios.p50_added_over_bare_relay_ms} ms.`,
    ].join("\n"),
  );
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
