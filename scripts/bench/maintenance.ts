// `npm run bench:maintenance`: one maintenance sweep over 10,000 running E2B connections (half
// keep-alive and due for extension, half past their expiry) against the fake E2B's light sandboxes,
// through the real `e2b` SDK, on PostgreSQL; without 429s, with a burst of 429s carrying
// Retry-After, and with 1% of calls refused without it. Baseline in the same run, alternating: the
// same provider calls made straight with the SDK and the same pool, no Berth. Prints JSON and
// updates docs/PERFORMANCE.md. Not a test: timings on shared machines drift; ratios are the point.
import { performance } from "node:perf_hooks";
import { parseArgs } from "node:util";
import { Sandbox } from "e2b";
import pLimit from "p-limit";
import { MAINTENANCE_PROVIDER_CONCURRENCY as POOL } from "@/lib/jobs/maintenance";
import { FakeE2B, type FakeRateLimit } from "../../tests/fakes/e2b-server";
import { createPostgresDatabase } from "../../tests/support/databases";
import { newEncryptionKeys, openSweeper, seedRunningConnections } from "../../tests/support/maintenance-at-scale";
import { ownTempRoot } from "../../tests/support/temp-dirs";
import { machine, round, updatePerformanceDoc } from "./stats";

ownTempRoot();

const { values } = parseArgs({
  options: {
    connections: { type: "string", default: "10000" },
    rounds: { type: "string", default: "3" },
    // E2B's round trip, added by the fake to every API call.
    latency: { type: "string", default: "0" },
  },
});
const N = Number(values.connections);
const ROUNDS = Number(values.rounds);
const LATENCY_MS = Number(values.latency);
const GOAL_MS = 5000;

const SCENARIOS: { name: string; limit: FakeRateLimit }[] = [
  { name: "no 429s", limit: {} },
  { name: `429 burst of ${POOL}, Retry-After: 1`, limit: { burst: POOL, retryAfterSeconds: 1 } },
  { name: "1% of calls 429, no Retry-After", limit: { fraction: 0.01, retryAfterSeconds: null } },
];

type Sample = {
  ms: number;
  /** This process's CPU time (Berth and the fake together). */
  cpu_ms: number;
  extended: number;
  expired: number;
  left_due: number;
  rate_limited: number;
  max_in_flight: number;
};

async function main() {
  const fake = await FakeE2B.start({ apiLatencyMs: LATENCY_MS });
  const { url, drop } = await createPostgresDatabase();
  const sweeper = await openSweeper(fake, { databaseUrl: url, keys: newEncryptionKeys() });
  const baseline: { ms: number; cpu_ms: number }[] = [];
  const sweeps = new Map<string, Sample[]>(SCENARIOS.map((s) => [s.name, []]));
  try {
    for (let round = 0; round < ROUNDS; round++) {
      baseline.push(await providerCallsAlone(fake));
      for (const scenario of SCENARIOS) {
        const seeded = await seedRunningConnections(sweeper.db, fake, {
          keepAliveDue: N / 2,
          expiring: N / 2,
          notDue: 0,
        });
        fake.resetApiStats();
        fake.rateLimit(scenario.limit);
        const t0 = performance.now();
        const cpu0 = process.cpuUsage();
        const r = (await sweeper.deps.maintain()) as { extended: number; expired: number; extensions_left_due: number };
        const ms = performance.now() - t0;
        const cpu = process.cpuUsage(cpu0);
        fake.rateLimit({});
        const stats = fake.apiStats;
        sweeps.get(scenario.name)?.push({
          ms: wholeMs(ms),
          cpu_ms: wholeMs((cpu.user + cpu.system) / 1000),
          extended: r.extended,
          expired: r.expired,
          left_due: r.extensions_left_due,
          rate_limited: stats.rateLimited,
          max_in_flight: stats.maxInFlight,
        });
        // What a round leaves due (its refused extensions) must not be counted by the next one.
        await sweeper.db.query("update mcp_connections set status = 'expired' where account_id = $1", [
          seeded.accountId,
        ]);
      }
    }
  } finally {
    await sweeper.close();
    await drop();
    await fake.close();
  }

  const baseMs = median(baseline.map((b) => b.ms));
  const baseCpu = median(baseline.map((b) => b.cpu_ms));
  const result = {
    ...machine(),
    connections: N,
    pool: POOL,
    rounds: ROUNDS,
    fake_api_latency_ms: LATENCY_MS,
    baseline_sdk_calls_alone: { median_ms: baseMs, median_cpu_ms: baseCpu, samples: baseline },
    sweeps: Object.fromEntries(
      [...sweeps].map(([name, samples]) => {
        const ms = median(samples.map((s) => s.ms));
        const cpu = median(samples.map((s) => s.cpu_ms));
        return [
          name,
          {
            median_ms: ms,
            ratio_to_baseline: round(ms / baseMs),
            median_cpu_ms: cpu,
            cpu_ratio_to_baseline: round(cpu / baseCpu),
            goal_ms: GOAL_MS,
            samples,
          },
        ];
      }),
    ),
  };
  console.log(JSON.stringify(result, null, 2));
  updatePerformanceDoc(
    "bench-maintenance",
    [
      "## A maintenance sweep over 10,000 E2B connections (`npm run bench:maintenance`)",
      "",
      `${result.at}, Node ${result.node}, ${result.cpus} CPUs, load ${result.loadavg.join(" ")}; ${ROUNDS} rounds, medians.`,
      `${N} running connections on PostgreSQL (${N / 2} keep-alive due for extension, ${N / 2} past expiry), one`,
      `Berth instance, the fake E2B in the same process (light sandboxes, API latency ${LATENCY_MS} ms), the real SDK;`,
      `${POOL} provider calls in flight at most. Baseline: the same ${N} calls (timeout, kill) straight through the`,
      "SDK with the same pool, no database, no Berth.",
      "",
      "| sweep | median ms | ÷ baseline | CPU ms | CPU ÷ baseline | 429s | left due | max in flight | goal |",
      "|---|---|---|---|---|---|---|---|---|",
      `| baseline: SDK calls alone | ${baseMs} | 1.00 | ${baseCpu} | 1.00 | | | | |`,
      ...Object.entries(result.sweeps).map(([name, s]) => {
        const last = s.samples[s.samples.length - 1] as Sample;
        return `| ${name} | ${s.median_ms} | ${s.ratio_to_baseline} | ${s.median_cpu_ms} | ${s.cpu_ratio_to_baseline} | ${last.rate_limited} | ${last.left_due} | ${last.max_in_flight} | ≤ ${GOAL_MS} ms |`;
      }),
    ].join("\n"),
  );
}

/** The sweep's provider calls without Berth: half timeouts, half kills, `POOL` at a time. */
async function providerCallsAlone(fake: FakeE2B) {
  const ids = fake.addLightSandboxes(N, { timeoutSeconds: 600 });
  const pool = pLimit(POOL);
  const t0 = performance.now();
  const cpu0 = process.cpuUsage();
  await Promise.all(
    ids.map((id, i) =>
      pool(async () => {
        if (i % 2) await Sandbox.kill(id, fake.connection);
        else await Sandbox.setTimeout(id, 600_000, fake.connection);
      }),
    ),
  );
  const ms = performance.now() - t0;
  const cpu = process.cpuUsage(cpu0);
  await Promise.all(ids.filter((_, i) => i % 2 === 0).map((id) => pool(() => Sandbox.kill(id, fake.connection))));
  return { ms: wholeMs(ms), cpu_ms: wholeMs((cpu.user + cpu.system) / 1000) };
}

const wholeMs = (x: number) => Math.round(x);

function median(xs: number[]) {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)] as number;
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
