// `npm run bench:density`: how many connections one host holds. Berth on PostgreSQL with local
// (bubblewrap) sandboxes: memory per idle running sandbox, Berth's own RSS with 100 running and
// 1,000 sleeping connections against none, how many running connections fit in 24 GiB, and 100
// sleeping connections woken at once (the wake queue bounds how many start together). Production
// build. Prints JSON and updates docs/PERFORMANCE.md.
import crypto from "node:crypto";
import fs from "node:fs";
import { performance } from "node:perf_hooks";
import { parseArgs } from "node:util";
import pLimit from "p-limit";
import pg from "pg";
import { createCredentialsCipher, parseKeySpec } from "@/lib/crypto/credentials-cipher";
import { loadOrCreateSecret } from "@/lib/crypto/keyring";
import { openDb } from "@/lib/db/client";
import { changeStatus, insertConnection } from "@/lib/db/queries/connections";
import { addConnectionEvent } from "@/lib/db/queries/events";
import { descendantsOf, newAccount, startBerth } from "../../tests/support/berth-server";
import { createPostgresDatabase } from "../../tests/support/databases";
import { ownTempRoot } from "../../tests/support/temp-dirs";
import { callTool, mcpClient } from "./clients";
import { describeSandbox, type Headline, machine, processUsage, round, summarize, updatePerformanceDoc } from "./stats";

// Data dirs and files this run makes in the temp dir go when it exits.
ownTempRoot();

const { values } = parseArgs({
  options: {
    running: { type: "string", default: "100" },
    sleeping: { type: "string", default: "1000" },
    wake: { type: "string", default: "100" },
    accounts: { type: "string", default: "10" },
  },
});
const RUNNING = Number(values.running);
const SLEEPING = Number(values.sleeping);
const WAKE = Number(values.wake);
/** Spread over several accounts: the wake queue lets 8 start at once per instance, but only 2 per account. */
const ACCOUNTS = Number(values.accounts);
const HOST_GIB = 24;
/** Left to the kernel, page cache and the host's own daemons when counting what fits. */
const OS_RESERVE_GIB = 1;
const WAKE_QUEUE = 8;
const MiB = 2 ** 20;

type Conn = { id: string; status: string; mcp_url: string };
type Account = Awaited<ReturnType<typeof newAccount>>;

/** Berth's VmRSS, the mean of `n` samples a second apart (it moves with GC). */
async function berthRss(pid: number, n = 10) {
  const xs: number[] = [];
  for (let i = 0; i < n; i++) {
    xs.push(processUsage(pid)?.rss_mib ?? Number.NaN);
    await new Promise((r) => setTimeout(r, 1000));
  }
  return round(xs.reduce((a, b) => a + b, 0) / xs.length);
}

/**
 * Each local sandbox's memory: the PSS of its processes (/proc/<pid>/smaps_rollup: shared pages
 * split among their sharers, so the node binary and libraries are not counted a hundred times) and
 * its cgroup's own count (memory.usage_in_bytes on v1, memory.current on v2, which includes the page
 * cache it touched). Sandboxes are Berth's descendants grouped by their cgroup, `…/berth/acct-*\/<sandbox>`
 * (other Berths on this host share those parents).
 */
function sandboxMemory(berthPid: number) {
  const boxes = new Map<string, { pss: number; processes: number; cgroup?: number }>();
  for (const entry of descendantsOf([berthPid]).slice(1)) {
    try {
      const line = fs
        .readFileSync(`/proc/${entry}/cgroup`, "utf8")
        .split("\n")
        .find((l) => /^\d+:(memory|):/.test(l) && l.includes("/berth/acct-"));
      if (!line) continue;
      const [, controller, cgroupPath] = /^\d+:([^:]*):(.*)$/.exec(line) as RegExpExecArray;
      const pss = Number(/^Pss:\s+(\d+)/m.exec(fs.readFileSync(`/proc/${entry}/smaps_rollup`, "utf8"))?.[1] ?? 0);
      const box = boxes.get(cgroupPath as string) ?? {
        pss: 0,
        processes: 0,
        cgroup: cgroupUsage(controller, cgroupPath),
      };
      box.pss += pss * 1024;
      box.processes++;
      boxes.set(cgroupPath as string, box);
    } catch {
      // gone meanwhile
    }
  }
  return [...boxes.values()];
}

function cgroupUsage(controller: string | undefined, rel: string | undefined) {
  const candidates =
    controller === "memory"
      ? [`/sys/fs/cgroup/memory${rel}/memory.usage_in_bytes`]
      : [`/sys/fs/cgroup${rel}/memory.current`, `/sys/fs/cgroup/unified${rel}/memory.current`];
  for (const file of candidates) {
    try {
      return Number(fs.readFileSync(file, "utf8"));
    } catch {
      // not this layout
    }
  }
  return undefined;
}

const median = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length ? (s[Math.floor((s.length - 1) / 2)] as number) : Number.NaN;
};

async function main() {
  const database = await createPostgresDatabase();
  const keys = `bench:${crypto.randomBytes(32).toString("base64")}`;
  const berth = await startBerth({
    LOG_LEVEL: "error",
    DATABASE_URL: database.url,
    BERTH_ENCRYPTION_KEYS: keys,
    BERTH_IDLE_SLEEP_SECONDS: "0", // nothing falls asleep on its own here: the sleeping ones are made so
    BERTH_ACCOUNT_MAX_SANDBOXES: String(RUNNING + WAKE),
    BERTH_ACCOUNT_SANDBOX_STARTS_PER_MINUTE: "100000",
    BERTH_API_REQUESTS_PER_SECOND: "100000",
  });
  const db = await openDb({ databaseUrl: database.url, dataDir: berth.dataDir });
  const sql = new pg.Client({ connectionString: database.url });
  await sql.connect();
  const pid = berth.proc.pid as number;
  try {
    const accounts: Account[] = [];
    for (let i = 0; i < ACCOUNTS; i++) accounts.push(await newAccount(berth, `Density ${i}`));
    const accountOf = (i: number) => accounts[i % ACCOUNTS] as Account;
    const install = async (a: Account) => {
      const res = await a.call("POST", "/api/mcp-connections/install", {
        account_id: a.accountId,
        server_id: "memory",
      });
      if (res.body?.data?.status !== "running") throw new Error(`install: ${res.status} ${res.text.slice(0, 300)}`);
      return res.body.data as Conn;
    };
    const oneCall = async (a: Account, conn: Conn) => {
      const c = await mcpClient(new URL(new URL(conn.mcp_url).pathname, berth.url).toString(), a.key);
      try {
        await callTool(c, "read_graph", {});
      } finally {
        await c.close();
      }
    };

    // Warm-up, so the baseline has every code path loaded: one install, one call, one delete.
    const warm = await install(accountOf(0));
    await oneCall(accountOf(0), warm);
    await accountOf(0).call("DELETE", `/api/mcp-connections/${warm.id}`);
    await new Promise((r) => setTimeout(r, 5000)); // settled, as the measurement with connections is
    const rssNone = await berthRss(pid);

    const installs: number[] = [];
    const limit = pLimit(4);
    const t0 = performance.now();
    const running = await Promise.all(
      Array.from({ length: RUNNING }, (_, i) =>
        limit(async () => {
          const s = performance.now();
          const conn = await install(accountOf(i));
          installs.push(performance.now() - s);
          await oneCall(accountOf(i), conn); // idle after one call: the server's code for calls is loaded
          return conn;
        }),
      ),
    );
    const installSeconds = round((performance.now() - t0) / 1000);

    const sleepers = await insertSleeping(db, berth.dataDir, keys, accounts, running[0]?.id as string, sql);
    await new Promise((r) => setTimeout(r, 5000)); // let the servers and Berth settle
    const boxes = sandboxMemory(pid);
    const rssWith = await berthRss(pid);
    const pss = boxes.map((b) => b.pss / MiB);
    const cg = boxes.flatMap((b) => (b.cgroup === undefined ? [] : [b.cgroup / MiB]));
    const perSandboxMiB = round(median(pss));
    const berthPerRunningMiB = round(Math.max(0, rssWith - rssNone) / RUNNING);
    // Berth's RSS moves by tens of MiB with V8's heap either way: the larger of the two is left to it.
    const berthMiB = Math.max(rssNone, rssWith);
    const fit = Math.floor(((HOST_GIB - OS_RESERVE_GIB) * 1024 - berthMiB) / (perSandboxMiB + berthPerRunningMiB));

    const wake = await wakeAtOnce(sleepers.slice(0, WAKE), accounts, berth.url, sql);
    const out = {
      ...machine(),
      sandbox: (await accountOf(0).call("GET", "/api/health")).body?.sandbox,
      accounts: ACCOUNTS,
      running: RUNNING,
      sleeping: SLEEPING,
      install_100: { seconds: installSeconds, concurrency: 4, per_install: summarize(installs) },
      sleeping_rows_inserted_seconds: sleepers.seconds,
      sandboxes_measured: boxes.length,
      processes_per_sandbox: median(boxes.map((b) => b.processes)),
      sandbox_pss_mib: { median: perSandboxMiB, min: round(Math.min(...pss)), max: round(Math.max(...pss)) },
      sandbox_cgroup_mib: cg.length
        ? { median: round(median(cg)), min: round(Math.min(...cg)), max: round(Math.max(...cg)) }
        : null,
      berth_rss_mib: { none: rssNone, with_running_and_sleeping: rssWith, per_running: berthPerRunningMiB },
      fit_in_24_gib: { running: fit, os_reserve_gib: OS_RESERVE_GIB, berth_mib: berthMiB },
      wake_at_once: wake,
    };
    const headline: Headline[] = [
      { what: "memory per idle local sandbox (PSS, median)", value: `${perSandboxMiB} MiB` },
      {
        what: `Berth RSS, none → ${RUNNING} running + ${SLEEPING} sleeping`,
        value: `${rssNone} → ${rssWith} MiB`,
      },
      { what: "running connections that fit in 24 GiB", value: fit },
      {
        what: `waking ${WAKE} at once: all answered; most starting together`,
        value: `${wake.answered}/${WAKE}; ${wake.max_deploying_at_once}`,
        goal: `${WAKE}/${WAKE}; ≤ ${WAKE_QUEUE}`,
        met: wake.answered === WAKE && wake.max_deploying_at_once <= WAKE_QUEUE,
      },
      {
        what: `waking ${WAKE} at once: total, p95 per request`,
        value: `${wake.total_s} s, ${wake.per_request.p95_ms} ms`,
      },
    ];
    const result = { ...out, headline };
    console.log(JSON.stringify(result, null, 2));
    updatePerformanceDoc("bench-density", doc(result));
  } finally {
    await sql.end();
    await db.close();
    await berth.stop();
    await database.drop();
  }
}

/**
 * SLEEPING rows as a slept local connection is: status `sleeping`, no sandbox, hosted here,
 * credentials (none: `{}`) encrypted with the connection id bound as install does, with its
 * `installed` and `slept` events. Made through Berth's own query functions rather than installed
 * and slept for real, which would take ~20 min of the benchmark's budget; their wake is real.
 */
async function insertSleeping(
  db: Awaited<ReturnType<typeof openDb>>,
  dataDir: string,
  keys: string,
  accounts: { accountId: string }[],
  model: string,
  sql: pg.Client,
) {
  const cipher = await createCredentialsCipher(parseKeySpec(keys));
  const host = loadOrCreateSecret(dataDir, "instance-id"); // the running instance's, made at its start
  const like = (
    await sql.query("select server_id, provider, timeout_seconds from mcp_connections where id = $1", [model])
  ).rows[0] as { server_id: string; provider: string; timeout_seconds: number };
  const t0 = performance.now();
  const ids: { id: string; accountIndex: number }[] = [];
  for (let i = 0; i < SLEEPING; i++) {
    const accountIndex = i % accounts.length;
    const accountId = (accounts[accountIndex] as { accountId: string }).accountId;
    const id = crypto.randomUUID();
    const { keyId, ciphertext } = await cipher.encrypt({}, id);
    await db.transaction(async (tx) => {
      await insertConnection(tx, {
        id,
        accountId,
        serverId: like.server_id,
        name: `Sleeper ${i}`,
        provider: like.provider,
        credentialsCiphertext: ciphertext,
        credentialsKeyId: keyId,
        keepAlive: true,
        timeoutSeconds: like.timeout_seconds,
        expiresAt: new Date(Date.now() + like.timeout_seconds * 1000),
        host,
      });
      await addConnectionEvent(tx, { accountId, connectionId: id, type: "installed", data: { server: "memory" } });
      await changeStatus(tx, { accountId, id, fromStatus: ["deploying"] }, { status: "sleeping", sandbox_id: null });
      await addConnectionEvent(tx, { accountId, connectionId: id, type: "slept", data: { idle_seconds: 600 } });
    });
    ids.push({ id, accountIndex });
  }
  return Object.assign(ids, { seconds: round((performance.now() - t0) / 1000) });
}

/**
 * `n` sleeping connections, each asked at the same moment by a new client (initialize + one call):
 * per-request time, the total, and the most `deploying` rows seen at once (sampled every 20 ms).
 */
async function wakeAtOnce(
  targets: { id: string; accountIndex: number }[],
  accounts: { key: string }[],
  base: string,
  sql: pg.Client,
) {
  let maxDeploying = 0;
  let sampling = true;
  const samples: number[] = [];
  const sampler = (async () => {
    while (sampling) {
      const n = Number(
        (await sql.query("select count(*) as n from mcp_connections where status = 'deploying'")).rows[0]?.n ?? 0,
      );
      samples.push(n);
      maxDeploying = Math.max(maxDeploying, n);
      await new Promise((r) => setTimeout(r, 20));
    }
  })();
  const latencies: number[] = [];
  const errors: string[] = [];
  const t0 = performance.now();
  await Promise.all(
    targets.map(async ({ id, accountIndex }) => {
      try {
        const c = await mcpClient(`${base}/api/mcp/${id}`, (accounts[accountIndex] as { key: string }).key);
        await callTool(c, "read_graph", {}, 120_000);
        latencies.push(performance.now() - t0);
        await c.close();
      } catch (err) {
        errors.push((err as Error).message.slice(0, 200));
      }
    }),
  );
  const totalS = round((performance.now() - t0) / 1000);
  sampling = false;
  await sampler;
  const running = Number(
    (
      await sql.query("select count(*) as n from mcp_connections where id = any($1::uuid[]) and status = 'running'", [
        targets.map((t) => t.id),
      ])
    ).rows[0]?.n ?? 0,
  );
  return {
    total_s: totalS,
    answered: latencies.length,
    errors: errors.slice(0, 5),
    running_after: running,
    per_request: summarize(latencies),
    max_deploying_at_once: maxDeploying,
    deploying_samples: samples.length,
    wake_queue: WAKE_QUEUE,
  };
}

type Result = Record<string, any>;
function doc(r: Result) {
  const w = r.wake_at_once;
  return [
    "## Density (`npm run bench:density`)",
    "",
    `${r.at}, Node ${r.node}, ${r.cpus} CPUs, ${r.mem_gib} GiB, load ${r.loadavg.join(" ")}. Berth on PostgreSQL, local sandboxes (${describeSandbox(r.sandbox)}), production build; ${r.accounts} accounts.`,
    "",
    `- **${r.running} running** \`memory\` connections installed through REST (4 at a time: ${r.install_100.seconds} s, p50 ${r.install_100.per_install.p50_ms} ms per install), each called once, then idle. **${r.sleeping} sleeping** ones: rows in status \`sleeping\` with no sandbox, which is what a slept local connection is, inserted with Berth's own query functions and credentials cipher (\`{}\` encrypted with the connection id bound, as install does) in ${r.sleeping_rows_inserted_seconds} s, because installing and sleeping 1,000 real ones would take ~20 min of the budget. Their wake is real: a new sandbox, the server started in it.`,
    `- **Memory per idle sandbox**: PSS of its processes (from \`/proc/<pid>/smaps_rollup\`; shared pages divided among the processes sharing them) median **${r.sandbox_pss_mib.median} MiB** (${r.sandbox_pss_mib.min}–${r.sandbox_pss_mib.max}) over ${r.sandboxes_measured} sandboxes, ${r.processes_per_sandbox} process(es) each${r.sandbox_cgroup_mib ? `; the sandbox cgroup's own count (memory usage, page cache included) median ${r.sandbox_cgroup_mib.median} MiB (${r.sandbox_cgroup_mib.min}–${r.sandbox_cgroup_mib.max})` : ""}.`,
    `- **Berth's RSS** (VmRSS, mean of 10 samples a second apart, after 5 s at rest): **${r.berth_rss_mib.none} MiB** with none (after one install and call) → **${r.berth_rss_mib.with_running_and_sleeping} MiB** with ${r.running} running + ${r.sleeping} sleeping: ${r.berth_rss_mib.per_running} MiB per running connection (all growth counted against the running ones; a sleeping one is a database row). Its V8 heap grows and shrinks by tens of MiB with garbage collection, so a difference smaller than that is noise: Berth's own state per connection is below what RSS resolves.`,
    `- **What fits in ${HOST_GIB} GiB**: (${HOST_GIB} GiB − ${r.fit_in_24_gib.os_reserve_gib} GiB for the OS − Berth's ${r.fit_in_24_gib.berth_mib} MiB, the larger of the two) ÷ (${r.sandbox_pss_mib.median} MiB a sandbox + ${r.berth_rss_mib.per_running} MiB of Berth per connection) ≈ **${r.fit_in_24_gib.running} running connections** of this server, by memory. Memory is not the only bound: on 2 cores CPU is shared by every server called at once, and each start is a Node boot (see the wake of 100 below). A server that holds more data, or one started through a heavier runtime, needs proportionally more memory; the per-sandbox cap (BERTH_SANDBOX_MEMORY_MIB) bounds each.`,
    `- **Waking ${w.answered + w.errors.length} at once** (each a new client's initialize + one \`read_graph\`, all sent together, over ${r.accounts} accounts): **${w.answered} answered** in **${w.total_s} s** total; per request p50 ${w.per_request.p50_ms} ms, p95 ${w.per_request.p95_ms} ms, max ${w.per_request.max_ms} ms${w.errors.length ? `; errors: ${w.errors.join("; ")}` : ""}. At most **${w.max_deploying_at_once}** connections were \`deploying\` at once (sampled every 20 ms, ${w.deploying_samples} samples): the wake queue starts ${w.wake_queue} per instance (2 per account), so the rest wait their turn instead of starting ${w.answered} servers on 2 cores together. ${w.running_after} of them \`running\` after.`,
  ].join("\n");
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
