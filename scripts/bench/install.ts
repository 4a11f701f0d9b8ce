// `npm run bench:install`: install-to-running through Berth's REST API vs a raw spawn +
// MCP initialize of the same server, measured alternately in the same run. Prints JSON and
// updates docs/PERFORMANCE.md. Not a test: timings on shared machines drift; ratios are the point.
import fs from "node:fs";
import path from "node:path";
import { performance } from "node:perf_hooks";
import { parseArgs } from "node:util";
import { Client } from "@modelcontextprotocol/sdk/client/index.js";
import { StdioClientTransport } from "@modelcontextprotocol/sdk/client/stdio.js";
import { PROJECT_MODULES, resolvePreparedCommand } from "@/lib/sandbox/start-command";
import { api, startBerth } from "../../tests/support/berth-server";
import { ownTempRoot, tempDir } from "../../tests/support/temp-dirs";

import { describeSandbox, type Headline, machine, round, summarize, updatePerformanceDoc } from "./stats";

// Data dirs and files this run makes in the temp dir go when it exits.
ownTempRoot();

const { values } = parseArgs({
  options: { runs: { type: "string", default: "30" }, warmup: { type: "string", default: "3" } },
});
const RUNS = Number(values.runs);
const WARMUP = Number(values.warmup);
const MEMORY = "npx -y @modelcontextprotocol/server-memory@2026.8.31";

async function rawStart() {
  const dir = tempDir("bench-raw-");
  const [command, ...args] = resolvePreparedCommand(MEMORY.split(" "), PROJECT_MODULES);
  const t0 = performance.now();
  const transport = new StdioClientTransport({
    command: command as string,
    args,
    env: { PATH: process.env.PATH ?? "", MEMORY_FILE_PATH: path.join(dir, "m.jsonl") },
    stderr: "ignore",
  });
  const client = new Client({ name: "bench", version: "1" });
  await client.connect(transport);
  const ms = performance.now() - t0;
  await client.close();
  fs.rmSync(dir, { recursive: true, force: true });
  return ms;
}

async function main() {
  const berth = await startBerth({ LOG_LEVEL: "error" });
  try {
    const account = (await berth.cli(["accounts", "create", "--name", "Bench"])) as {
      account_id: string;
      api_key: string;
    };
    const netDef = path.join(berth.dataDir, "memory-net.json");
    fs.writeFileSync(
      netDef,
      JSON.stringify({
        slug: "memory-net",
        title: "Memory (network)",
        start_command: MEMORY,
        network: true,
        env: { MEMORY_FILE_PATH: "{home}/m.jsonl" },
      }),
    );
    await berth.cli(["servers", "add", "--file", netDef]);
    const call = api(berth.url, account.api_key);
    const viaBerth = async (server: string) => {
      const t0 = performance.now();
      const res = await call("POST", "/api/mcp-connections/install", {
        account_id: account.account_id,
        server_id: server,
      });
      const ms = performance.now() - t0;
      if (res.body?.data?.status !== "running")
        throw new Error(`install of ${server}: ${res.status} ${res.text.slice(0, 500)}`);
      await call("DELETE", `/api/mcp-connections/${res.body.data.id}`);
      return ms;
    };
    const samples = { raw: [] as number[], berth: [] as number[], berth_network: [] as number[] };
    let networkError: string | undefined;
    for (let i = 0; i < WARMUP + RUNS; i++) {
      const raw = await rawStart();
      const b = await viaBerth("memory");
      const n = networkError
        ? undefined
        : await viaBerth("memory-net").catch((err: Error) => {
            networkError = err.message;
            return undefined;
          });
      if (i < WARMUP) continue;
      samples.raw.push(raw);
      samples.berth.push(b);
      if (n !== undefined) samples.berth_network.push(n);
    }
    const raw = summarize(samples.raw);
    const local = summarize(samples.berth);
    const network = samples.berth_network.length ? summarize(samples.berth_network) : undefined;
    const health = await api(berth.url, account.api_key)("GET", "/api/health");
    const result = {
      ...machine(),
      runs: RUNS,
      sandbox: health.body?.sandbox,
      raw_spawn_initialize: raw,
      berth_install_no_network: { ...local, ratio_p50: round(local.p50_ms / raw.p50_ms), goal: "≤ 1.5×" },
      berth_install_network: network
        ? { ...network, ratio_p50: round(network.p50_ms / raw.p50_ms), goal: "≤ 2×" }
        : { error: networkError },
    };
    const headline: Headline[] = [
      {
        what: "REST install → running ÷ raw spawn + initialize, p50",
        value: result.berth_install_no_network.ratio_p50,
        goal: "≤ 1.5",
        met: result.berth_install_no_network.ratio_p50 <= 1.5,
      },
      ...(network
        ? [
            {
              what: "the same with outbound network, p50",
              value: round(network.p50_ms / raw.p50_ms),
              goal: "≤ 2",
              met: network.p50_ms / raw.p50_ms <= 2,
            },
          ]
        : []),
    ];
    console.log(JSON.stringify({ ...result, headline }, null, 2));
    const row = (name: string, s: { p50_ms: number; p95_ms: number } | undefined, ratio?: number, goal?: string) =>
      s
        ? `| ${name} | ${s.p50_ms} | ${s.p95_ms} | ${ratio ?? "1.00"} | ${goal ?? ""} |`
        : `| ${name} | failed: ${networkError} | | | |`;
    updatePerformanceDoc(
      "bench-install",
      [
        "## Install to running (`npm run bench:install`)",
        "",
        `${result.at}, Node ${result.node}, ${result.cpus} CPUs, load ${result.loadavg.join(" ")}; ${RUNS} runs each after ${WARMUP} warm-up, alternating.`,
        `Sandbox: ${describeSandbox(result.sandbox)}`,
        "",
        "| path | p50 ms | p95 ms | p50 ÷ raw | goal |",
        "|---|---|---|---|---|",
        row("raw spawn + initialize (no Berth)", raw),
        row("Berth REST install → running, no network", local, result.berth_install_no_network.ratio_p50, "≤ 1.5×"),
        row(
          "Berth REST install → running, outbound network",
          network,
          network && round(network.p50_ms / raw.p50_ms),
          "≤ 2×",
        ),
      ].join("\n"),
    );
  } finally {
    await berth.stop();
  }
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
