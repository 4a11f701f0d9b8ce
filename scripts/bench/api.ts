// `npm run bench:api`: the REST API's reads at scale. Seeds 10,000 connections in one account and
// 100,000 in all into a fresh PostgreSQL database and a fresh PGlite one, starts Berth (production
// build) on each, and times a page of 50 (the first, and one 9,000 rows deep through cursors), one
// connection, and a page of events, alternating with GET /api/health as the same run's floor.
// Prints JSON and updates docs/PERFORMANCE.md. Not a test: ratios to the floor are the point.
import { performance } from "node:perf_hooks";
import { parseArgs } from "node:util";
import { seedCatalogue } from "@/lib/catalogue/seed";
import { issueApiKey } from "@/lib/core/services/api-keys";
import { openDb } from "@/lib/db/client";
import { migrate } from "@/lib/db/migrate";
import { type BerthServer, startBerth } from "../../tests/support/berth-server";
import { createPostgresDatabase } from "../../tests/support/databases";
import { type ScaleSeed, seedScale } from "../../tests/support/scale-seed";
import { ownTempRoot, tempDir } from "../../tests/support/temp-dirs";
import { machine, round, summarize, updatePerformanceDoc } from "./stats";

ownTempRoot();

const { values } = parseArgs({
  options: { runs: { type: "string", default: "200" }, warmup: { type: "string", default: "20" } },
});
const RUNS = Number(values.runs);
const WARMUP = Number(values.warmup);
const PAGE = 50;
const DEEP_ROWS = 9_000;

type Target = { kind: "postgres" | "pglite"; env: Record<string, string>; seed: ScaleSeed; key: string };

/** Seeds a fresh database of `kind`; the environment that starts Berth on it. */
async function prepare(kind: "postgres" | "pglite", cleanups: (() => Promise<void>)[]): Promise<Target> {
  const dataDir = tempDir("bench-api-");
  let databaseUrl: string | undefined;
  if (kind === "postgres") {
    const created = await createPostgresDatabase();
    databaseUrl = created.url;
    cleanups.push(created.drop);
  }
  const db = await openDb({ databaseUrl, dataDir });
  const t0 = performance.now();
  await migrate(db);
  await seedCatalogue(db);
  const seed = await seedScale(db);
  const { key } = await issueApiKey(db, { accountId: seed.bigAccountId, name: "bench" });
  await db.close();
  console.error(
    `${kind}: seeded ${seed.connections} connections, ${seed.events} events in ${round((performance.now() - t0) / 1000)} s`,
  );
  const keyBytes = Buffer.from(crypto.getRandomValues(new Uint8Array(32))).toString("base64");
  return {
    kind,
    seed,
    key,
    env: {
      BERTH_DATA_DIR: dataDir,
      ...(databaseUrl ? { DATABASE_URL: databaseUrl, BERTH_ENCRYPTION_KEYS: `k1:${keyBytes}` } : {}),
      LOG_LEVEL: "error",
      // The seeded connections run nowhere: no maintenance pass may try to redeploy or expire them.
      BERTH_MAINTENANCE_INTERVAL_MS: "86400000",
      BERTH_API_REQUESTS_PER_SECOND: "1000000",
    },
  };
}

async function measure(berth: BerthServer, target: Target) {
  const get = async (path: string) => {
    const t0 = performance.now();
    const res = await fetch(`${berth.url}${path}`, { headers: { authorization: `Bearer ${target.key}` } });
    const body = (await res.json()) as { data?: unknown[]; next_cursor?: string | null };
    const ms = performance.now() - t0;
    if (res.status !== 200) throw new Error(`${path}: ${res.status} ${JSON.stringify(body)}`);
    return { ms, body };
  };
  const list = `/api/mcp-connections?account_id=${target.seed.bigAccountId}&limit=${PAGE}`;
  // The cursor of the page DEEP_ROWS rows in, reached the way a client would: page after page.
  let deepCursor = "";
  for (let seen = 0; seen < DEEP_ROWS; seen += 200) {
    const page = await get(
      `/api/mcp-connections?account_id=${target.seed.bigAccountId}&limit=200${deepCursor ? `&cursor=${deepCursor}` : ""}`,
    );
    deepCursor = page.body.next_cursor as string;
  }
  const paths = {
    health_floor: "/api/health",
    list_first_page: list,
    list_deep_page: `${list}&cursor=${deepCursor}`,
    get_connection: `/api/mcp-connections/${target.seed.busyConnectionId}`,
    events_page: `/api/mcp-connections/${target.seed.busyConnectionId}/events?limit=${PAGE}`,
  };
  const first = await get(paths.list_first_page);
  if (first.body.data?.length !== PAGE || !first.body.next_cursor) throw new Error("the first page is not a page");
  const samples = Object.fromEntries(Object.keys(paths).map((k) => [k, [] as number[]])) as Record<
    keyof typeof paths,
    number[]
  >;
  for (let i = 0; i < WARMUP + RUNS; i++) {
    for (const [name, path] of Object.entries(paths) as [keyof typeof paths, string][]) {
      const { ms } = await get(path);
      if (i >= WARMUP) samples[name].push(ms);
    }
  }
  const floor = summarize(samples.health_floor);
  return Object.fromEntries(
    Object.entries(samples).map(([name, s]) => {
      const stats = summarize(s);
      return [name, { ...stats, ratio_p50_to_floor: round(stats.p50_ms / floor.p50_ms) }];
    }),
  ) as Record<keyof typeof paths, ReturnType<typeof summarize> & { ratio_p50_to_floor: number }>;
}

async function main() {
  const cleanups: (() => Promise<void>)[] = [];
  const results: Record<string, Awaited<ReturnType<typeof measure>> & { seeded: ScaleSeed }> = {};
  try {
    for (const kind of ["postgres", "pglite"] as const) {
      const target = await prepare(kind, cleanups);
      const berth = await startBerth(target.env);
      try {
        results[kind] = { seeded: target.seed, ...(await measure(berth, target)) };
      } finally {
        await berth.stop();
      }
    }
  } finally {
    for (const cleanup of cleanups) await cleanup().catch(() => {});
  }
  const result = {
    ...machine(),
    runs: RUNS,
    warmup: WARMUP,
    page: PAGE,
    deep_rows: DEEP_ROWS,
    goal: "p50 ≤ 25 ms for a page of 50 on PostgreSQL",
    ...results,
  };
  console.log(JSON.stringify(result, null, 2));
  const rows = Object.entries(results).flatMap(([kind, r]) =>
    (["list_first_page", "list_deep_page", "get_connection", "events_page", "health_floor"] as const).map(
      (name) =>
        `| ${kind} | ${name.replace(/_/g, " ")} | ${r[name].p50_ms} | ${r[name].p95_ms} | ${r[name].ratio_p50_to_floor} |`,
    ),
  );
  updatePerformanceDoc(
    "bench-api",
    [
      "## REST reads at 100,000 connections (`npm run bench:api`)",
      "",
      `${result.at}, Node ${result.node}, ${result.cpus} CPUs, load ${result.loadavg.join(" ")}; ${RUNS} requests each after ${WARMUP} warm-up, alternating, one caller.`,
      `10,000 connections in the account asked, 100,000 in all (seeded by tests/support/scale-seed.ts); pages of ${PAGE}, the deep one ${DEEP_ROWS} rows in by cursor; events: a page of ${PAGE} of a connection with 1,000 tool calls. Goal: p50 ≤ 25 ms for a page on PostgreSQL.`,
      "",
      "| database | request | p50 ms | p95 ms | p50 ÷ health |",
      "|---|---|---|---|---|",
      ...rows,
    ].join("\n"),
  );
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
