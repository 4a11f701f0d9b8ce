// `npm run bench:gateway`: the cost of an MCP tool call through Berth's gateway, against the
// same server and tool reached directly over stdio and through an unmanaged stateful Streamable
// HTTP bridge (supergateway --stateful), all in the same run, with the same client (the MCP
// SDK's). Production build, auth and audit on. Prints JSON and updates docs/PERFORMANCE.md.
import { type ChildProcess, spawn } from "node:child_process";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { performance } from "node:perf_hooks";
import { parseArgs } from "node:util";
import { Client } from "@modelcontextprotocol/sdk/client/index.js";
import { StdioClientTransport } from "@modelcontextprotocol/sdk/client/stdio.js";
import { StreamableHTTPClientTransport } from "@modelcontextprotocol/sdk/client/streamableHttp.js";
import { resolvePreparedCommand } from "@/lib/sandbox/start-command";
import { api, freePort, startBerth } from "../../tests/support/berth-server";
import { describeSandbox, machine, round, summarize, updatePerformanceDoc } from "./stats";

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
const MEMORY = resolvePreparedCommand(["npx", "-y", "@modelcontextprotocol/server-memory@2026.8.31"]);
const SUPERGATEWAY = path.resolve("node_modules/supergateway/dist/index.js");

type Measured = { p50_ms: number; p95_ms: number; p99_ms: number; seq_calls_per_s: number; conc_calls_per_s: number };

async function call(client: Client, name: string, args: Record<string, unknown>) {
  const r = await client.callTool({ name, arguments: args }, undefined, { timeout: 10_000 });
  if (r.isError) throw new Error(`${name} failed: ${JSON.stringify(r.content).slice(0, 200)}`);
  return r;
}

/** The measured part, identical for every mode (the shared MCP baseline benchmark's method). */
async function measure(client: Client): Promise<Measured> {
  await call(client, "create_entities", { entities: [{ name: "bench", entityType: "bench", observations: ["x"] }] });
  if (!JSON.stringify((await call(client, "read_graph", {})).content).includes("bench"))
    throw new Error("entity missing");
  for (let i = 0; i < WARMUP; i++) await call(client, "read_graph", {});
  const lat: number[] = [];
  const t0 = performance.now();
  for (let i = 0; i < CALLS; i++) {
    const s = performance.now();
    await call(client, "read_graph", {});
    lat.push(performance.now() - s);
  }
  const seq = (performance.now() - t0) / 1000;
  const s = summarize(lat);
  lat.sort((a, b) => a - b);
  const p99 = round(lat[Math.ceil(0.99 * lat.length) - 1] as number);
  let next = 0;
  const t1 = performance.now();
  await Promise.all(
    Array.from({ length: CONC }, async () => {
      while (next++ < CCALLS) await call(client, "read_graph", {});
    }),
  );
  const conc = (performance.now() - t1) / 1000;
  return {
    p50_ms: s.p50_ms,
    p95_ms: s.p95_ms,
    p99_ms: p99,
    seq_calls_per_s: Math.round(CALLS / seq),
    conc_calls_per_s: Math.round(CCALLS / conc),
  };
}

const memFile = () => path.join(fs.mkdtempSync(path.join(os.tmpdir(), "bench-gw-")), "memory.jsonl");

type Target = { client: Client; sandbox?: unknown; close(): Promise<void> };

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
  return { client, close: () => client.close() };
}

async function supergateway(): Promise<Target> {
  const port = await freePort();
  const q = (s: string) => `'${s.replaceAll("'", "'\\''")}'`;
  const gw: ChildProcess = spawn(
    process.execPath,
    [
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
    ],
    { env: { ...process.env, MEMORY_FILE_PATH: memFile() }, stdio: "ignore" },
  );
  const deadline = Date.now() + 20_000;
  for (;;) {
    const client = new Client({ name: "bench", version: "1" });
    try {
      await client.connect(new StreamableHTTPClientTransport(new URL(`http://127.0.0.1:${port}/mcp`)));
      return {
        client,
        async close() {
          await client.close();
          gw.kill("SIGTERM");
        },
      };
    } catch (err) {
      if (Date.now() > deadline) {
        gw.kill("SIGTERM");
        throw err;
      }
      await new Promise((r) => setTimeout(r, 50));
    }
  }
}

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

const median = (xs: number[]) => round([...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)] as number);

/** The median of each figure over the rounds. */
function medianOf(rounds: Measured[]): Measured {
  const m = {} as Measured;
  for (const k of Object.keys(rounds[0] as Measured) as (keyof Measured)[]) m[k] = median(rounds.map((r) => r[k]));
  return m;
}

async function main() {
  const targets = { stdio: await direct(), supergateway_stateful: await supergateway(), berth_gateway: await viaBerth() };
  const rounds: Record<keyof typeof targets, Measured[]> = { stdio: [], supergateway_stateful: [], berth_gateway: [] };
  try {
    // Alternating rounds on long-lived servers: drift on this shared machine hits every mode
    // alike, and later rounds show each path warmed up, as a long-running gateway is.
    for (let r = 0; r < ROUNDS; r++) {
      for (const [name, target] of Object.entries(targets)) {
        rounds[name as keyof typeof targets].push(await measure(target.client));
      }
    }
  } finally {
    await Promise.all(Object.values(targets).map((t) => t.close()));
  }
  const stdio = medianOf(rounds.stdio);
  const bridge = medianOf(rounds.supergateway_stateful);
  const gateway = medianOf(rounds.berth_gateway);
  const perRound = rounds.berth_gateway.map((g, i) => {
    const b = rounds.supergateway_stateful[i] as Measured;
    return { p50: round(g.p50_ms / b.p50_ms), throughput: round(g.conc_calls_per_s / b.conc_calls_per_s) };
  });
  const out = {
    ...machine(),
    calls: CALLS,
    warmup: WARMUP,
    concurrency: CONC,
    concurrent_calls: CCALLS,
    rounds: ROUNDS,
    sandbox: targets.berth_gateway.sandbox,
    modes: { stdio, supergateway_stateful: bridge, berth_gateway: gateway },
    ratios: {
      p50_vs_supergateway: round(gateway.p50_ms / bridge.p50_ms),
      conc_throughput_vs_supergateway: round(gateway.conc_calls_per_s / bridge.conc_calls_per_s),
      p50_added_over_stdio_ms: round(gateway.p50_ms - stdio.p50_ms),
      per_round: perRound,
    },
    goals: { p50_vs_supergateway: "≤ 0.6", conc_throughput_vs_supergateway: "≥ 1.5" },
  };
  console.log(JSON.stringify(out, null, 2));
  const row = (name: string, m: Measured) =>
    `| ${name} | ${m.p50_ms} | ${m.p95_ms} | ${m.p99_ms} | ${m.seq_calls_per_s} | ${m.conc_calls_per_s} |`;
  updatePerformanceDoc(
    "bench-gateway",
    [
      "## MCP tool calls (`npm run bench:gateway`)",
      "",
      `${out.at}, Node ${out.node}, ${out.cpus} CPUs, load ${out.loadavg.join(" ")}. memory's \`read_graph\` after one \`create_entities\`; each round is ${CALLS} sequential calls after ${WARMUP} warm-up, then ${CCALLS} at concurrency ${CONC}; ${ROUNDS} rounds alternating between the modes, each mode on one long-lived server; medians over the rounds. Same SDK client everywhere; Berth with API-key auth and the audit log on, production build.`,
      `Sandbox: ${describeSandbox(out.sandbox)}`,
      "",
      "| mode | p50 ms | p95 ms | p99 ms | sequential calls/s | calls/s at 8 |",
      "|---|---|---|---|---|---|",
      row("direct stdio (no bridge)", stdio),
      row("supergateway --stateful (unmanaged bridge)", bridge),
      row("Berth gateway `/api/mcp/:id`", gateway),
      "",
      `Gateway p50 ÷ supergateway p50: **${out.ratios.p50_vs_supergateway}** (goal ≤ 0.6). Gateway ÷ supergateway throughput at 8: **${out.ratios.conc_throughput_vs_supergateway}** (goal ≥ 1.5). p50 added over direct stdio: ${out.ratios.p50_added_over_stdio_ms} ms.`,
      `Per round (p50 ratio / throughput ratio): ${perRound.map((r) => `${r.p50} / ${r.throughput}`).join(", ")}.`,
    ].join("\n"),
  );
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
