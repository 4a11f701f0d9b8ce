// `npm run bench:wake`: how long the first MCP request to a sleeping connection takes to be
// answered (the wake), against REST install → running of the same server measured alternately in
// the same run; locally (bubblewrap) and on E2B (the fake, resuming in E2B's documented ~1 s).
// Then bursts of concurrent requests from two clients during one wake: answered, lost,
// duplicated. Production build. Prints JSON and updates docs/PERFORMANCE.md.
import { performance } from "node:perf_hooks";
import { parseArgs } from "node:util";
import type { Client } from "@modelcontextprotocol/sdk/client/index.js";
import { FakeE2B } from "../../tests/fakes/e2b-server";
import { type BerthServer, newAccount, startBerth } from "../../tests/support/berth-server";
import { ownTempRoot } from "../../tests/support/temp-dirs";
import { until } from "../../tests/support/until";
import { callTool, mcpClient } from "./clients";
import { describeSandbox, type Headline, machine, round, summarize, updatePerformanceDoc } from "./stats";

// Data dirs and files this run makes in the temp dir go when it exits.
ownTempRoot();

const { values } = parseArgs({
  options: {
    cycles: { type: "string", default: "15" },
    warmup: { type: "string", default: "1" },
    bursts: { type: "string", default: "3" },
  },
});
const CYCLES = Number(values.cycles);
const WARMUP = Number(values.warmup);
const BURSTS = Number(values.bursts);
/** E2B's documented resume time (a paused sandbox's memory snapshot restored), which the fake waits. */
const E2B_RESUME_MS = 1000;
const BURST_CALLS = 8;

type Conn = { id: string; status: string; mcp_url: string };
type Event = { id: string; type: string; data: Record<string, unknown> };
type Account = Awaited<ReturnType<typeof newAccount>>;

type Burst = {
  answered: number;
  lost: number;
  reached_server: number;
  duplicated: number;
  wakes: number;
  ms: number;
};

/** Sets up one provider's Berth: idle sleep after `idleSeconds`, maintenance every 100 ms. */
async function berthFor(provider: "local" | "e2b") {
  const fake = provider === "e2b" ? await FakeE2B.start({ resumeDelayMs: E2B_RESUME_MS }) : undefined;
  // On E2B the wake itself lasts longer than one idle second: two, so a woken connection is not idle on arrival.
  const idleSeconds = provider === "e2b" ? 2 : 1;
  const berth = await startBerth({
    LOG_LEVEL: "error",
    BERTH_IDLE_SLEEP_SECONDS: String(idleSeconds),
    BERTH_MAINTENANCE_INTERVAL_MS: "100",
    BERTH_API_REQUESTS_PER_SECOND: "10000",
    BERTH_ACCOUNT_SANDBOX_STARTS_PER_MINUTE: "10000",
    ...fake?.berthEnv(),
  });
  return { berth, fake, idleSeconds };
}

function helpers(berth: BerthServer, account: Account) {
  const get = async (id: string) => (await account.call("GET", `/api/mcp-connections/${id}`)).body.data as Conn;
  const events = async (id: string) =>
    (await account.call("GET", `/api/mcp-connections/${id}/events`)).body.data as Event[];
  return {
    events,
    asleep: (id: string) =>
      until(`${id} asleep`, async () => ((await get(id)).status === "sleeping" ? true : undefined), 60_000),
    async install() {
      const t0 = performance.now();
      const res = await account.call("POST", "/api/mcp-connections/install", {
        account_id: account.accountId,
        server_id: "memory",
      });
      const ms = performance.now() - t0;
      if (res.body?.data?.status !== "running") throw new Error(`install: ${res.status} ${res.text.slice(0, 500)}`);
      return { conn: res.body.data as Conn, ms };
    },
    remove: (id: string) => account.call("DELETE", `/api/mcp-connections/${id}`),
    client: (conn: Conn) => mcpClient(new URL(new URL(conn.mcp_url).pathname, berth.url).toString(), account.key),
  };
}

/** The newest `woke` event: each measured request must have made a new one, else it woke nothing. */
async function newestWoke(events: () => Promise<Event[]>) {
  return (await events()).find((e) => e.type === "woke");
}

async function measureProvider(provider: "local" | "e2b") {
  const { berth, fake, idleSeconds } = await berthFor(provider);
  try {
    const account = await newAccount(berth, "Bench");
    const h = helpers(berth, account);
    const { conn } = await h.install();
    const held = await h.client(conn);
    await callTool(held, "read_graph", {});
    const events = () => h.events(conn.id);
    let lastWoke: string | undefined;
    const paused: boolean[] = [];
    /** Times `request` on the sleeping connection, checking it was a wake. */
    const timeWake = async (request: () => Promise<unknown>) => {
      await h.asleep(conn.id);
      const t0 = performance.now();
      await request();
      const ms = performance.now() - t0;
      const woke = await newestWoke(events);
      if (!woke || woke.id === lastWoke)
        throw new Error(`${provider}: a request to a sleeping connection woke nothing`);
      lastWoke = woke.id;
      paused.push(woke.data.paused === true);
      return ms;
    };
    const samples = { install: [] as number[], wake_new_client: [] as number[], wake_session: [] as number[] };
    for (let i = 0; i < WARMUP + CYCLES; i++) {
      const installed = await h.install();
      await h.remove(installed.conn.id);
      // A new client whose `initialize` is the wake, then one call; then a call on a session that was open.
      let fresh: Client | undefined;
      const newClient = await timeWake(async () => {
        fresh = await h.client(conn);
        await callTool(fresh, "read_graph", {});
      });
      await fresh?.close();
      const session = await timeWake(() => callTool(held, "read_graph", {}));
      if (i < WARMUP) continue;
      samples.install.push(installed.ms);
      samples.wake_new_client.push(newClient);
      samples.wake_session.push(session);
    }
    const bursts: Burst[] = [];
    const other = await h.client(conn);
    for (let r = 0; r < BURSTS; r++) bursts.push(await burst(h, conn, [held, other], r));
    await other.close();
    await held.close();
    const health = await account.call("GET", "/api/health");
    return {
      sandbox: health.body?.sandbox,
      idle_seconds: idleSeconds,
      resume_calls_at_fake: fake?.calls.filter((c) => c.method === "resume").length,
      wakes_that_resumed_a_paused_sandbox: paused.filter(Boolean).length,
      wakes: paused.length,
      install: summarize(samples.install),
      wake_new_client: summarize(samples.wake_new_client),
      wake_session: summarize(samples.wake_session),
      bursts,
    };
  } finally {
    await berth.stop();
    await fake?.close();
  }
}

/**
 * BURST_CALLS create_entities at once from two clients with open sessions, while the connection
 * sleeps: one wake, every call answered once. Tool-call events (written once a second) count the
 * calls that reached the server. (Whether each entity is then in the graph is the memory server's
 * business: it rewrites its whole file per call, so concurrent creates can overwrite each other.)
 */
async function burst(h: ReturnType<typeof helpers>, conn: Conn, clients: Client[], r: number): Promise<Burst> {
  await h.asleep(conn.id);
  const before = await h.events(conn.id);
  const calls = (es: Event[]) => es.filter((e) => e.type === "tool_call" && !before.some((b) => b.id === e.id));
  const names = Array.from({ length: BURST_CALLS }, (_, i) => `burst-${r}-${i}`);
  const t0 = performance.now();
  const answers = await Promise.allSettled(
    names.map((name, i) =>
      callTool(clients[i % clients.length] as Client, "create_entities", {
        entities: [{ name, entityType: "bench", observations: [] }],
      }),
    ),
  );
  const ms = performance.now() - t0;
  const answered = answers.filter(
    (a, i) => a.status === "fulfilled" && JSON.stringify(a.value).includes(names[i] as string),
  ).length;
  const reached = async () => calls(await h.events(conn.id)).filter((e) => e.data.tool === "create_entities");
  await until("the burst's tool-call events", async () =>
    (await reached()).length >= answered ? true : undefined,
  ).catch(() => undefined);
  await new Promise((resolve) => setTimeout(resolve, 1500)); // one more flush: any duplicate shows up too
  const after = await h.events(conn.id);
  const reachedServer = (await reached()).length;
  return {
    answered,
    lost: BURST_CALLS - answered,
    reached_server: reachedServer,
    duplicated: Math.max(0, reachedServer - BURST_CALLS),
    wakes: after.filter((e) => e.type === "woke" && !before.some((b) => b.id === e.id)).length,
    ms: round(ms),
  };
}

async function main() {
  const local = await measureProvider("local");
  const support = FakeE2B.supported();
  const e2b = support.ok ? await measureProvider("e2b") : undefined;
  const localRatio = round(local.wake_new_client.p50_ms / local.install.p50_ms);
  const sessionRatio = round(local.wake_session.p50_ms / local.install.p50_ms);
  const all = [...local.bursts, ...(e2b?.bursts ?? [])];
  const sum = (k: keyof Burst) => all.reduce((a, b) => a + b[k], 0);
  const bursts = {
    rounds: all.length,
    calls: all.length * BURST_CALLS,
    answered: sum("answered"),
    lost: sum("lost"),
    duplicated: sum("duplicated"),
    wakes_per_burst: all.map((b) => b.wakes),
  };
  const headline: Headline[] = [
    {
      what: "local wake p50 ÷ install p50 (new client: initialize + call)",
      value: localRatio,
      goal: "≤ 1.2",
      met: localRatio <= 1.2,
    },
    ...(e2b
      ? [
          {
            what: "E2B wake p95 (fake, 1 s resume), new client",
            value: `${e2b.wake_new_client.p95_ms} ms`,
            goal: "≤ 1500 ms",
            met: e2b.wake_new_client.p95_ms <= 1500,
          },
        ]
      : []),
    {
      what: `requests during a wake (${bursts.calls} in ${bursts.rounds} bursts): lost / duplicated`,
      value: `${bursts.lost} / ${bursts.duplicated}`,
      goal: "0 / 0",
      met: bursts.lost === 0 && bursts.duplicated === 0 && bursts.wakes_per_burst.every((w) => w === 1),
    },
  ];
  const out = {
    ...machine(),
    cycles: CYCLES,
    warmup: WARMUP,
    local: {
      ...local,
      ratio_wake_new_client_p50_vs_install: localRatio,
      ratio_wake_session_p50_vs_install: sessionRatio,
    },
    e2b: e2b
      ? {
          ...e2b,
          resume_delay_ms: E2B_RESUME_MS,
          berth_part_new_client: {
            p50_ms: round(e2b.wake_new_client.p50_ms - E2B_RESUME_MS),
            p95_ms: round(e2b.wake_new_client.p95_ms - E2B_RESUME_MS),
          },
          berth_part_session: {
            p50_ms: round(e2b.wake_session.p50_ms - E2B_RESUME_MS),
            p95_ms: round(e2b.wake_session.p95_ms - E2B_RESUME_MS),
          },
        }
      : { skipped: support.reason },
    bursts,
    headline,
  };
  console.log(JSON.stringify(out, null, 2));
  updatePerformanceDoc("bench-wake", doc(out));
}

type Summary = ReturnType<typeof summarize>;
function doc(out: {
  at: string;
  node: string;
  cpus: number;
  loadavg: number[];
  local: Awaited<ReturnType<typeof measureProvider>> & {
    ratio_wake_new_client_p50_vs_install: number;
    ratio_wake_session_p50_vs_install: number;
  };
  e2b:
    | (Awaited<ReturnType<typeof measureProvider>> & {
        berth_part_new_client: { p50_ms: number; p95_ms: number };
        berth_part_session: { p50_ms: number; p95_ms: number };
      })
    | { skipped?: string };
  bursts: {
    rounds: number;
    calls: number;
    answered: number;
    lost: number;
    duplicated: number;
    wakes_per_burst: number[];
  };
}) {
  const row = (what: string, s: Summary, extra = "") =>
    `| ${what} | ${s.p50_ms} | ${s.p95_ms} | ${s.max_ms} | ${extra} |`;
  const { local, e2b, bursts } = out;
  const lines = [
    "## Waking a sleeping connection (`npm run bench:wake`)",
    "",
    `${out.at}, Node ${out.node}, ${out.cpus} CPUs, load ${out.loadavg.join(" ")}. One keep-alive \`memory\` connection falls asleep (idle ${local.idle_seconds} s locally, ${"idle_seconds" in e2b ? e2b.idle_seconds : "–"} s on E2B; maintenance every 100 ms), then the first request is timed until answered: a **new client** (its \`initialize\` wakes it, then one \`read_graph\`) and, after the next sleep, a call on a **session that stayed open**. Alternating with a REST install → running of the same server as the baseline; ${CYCLES} cycles after ${WARMUP} warm-up. Production build.`,
    `Local sandbox: ${describeSandbox(local.sandbox)}.`,
    "",
    "| path | p50 ms | p95 ms | max ms | p50 ÷ install p50 |",
    "|---|---|---|---|---|",
    row("local: REST install → running (baseline)", local.install, "1.00"),
    row(
      "local: wake, new client (initialize + call)",
      local.wake_new_client,
      `**${local.ratio_wake_new_client_p50_vs_install}** (goal ≤ 1.2)`,
    ),
    row("local: wake, call on an open session", local.wake_session, String(local.ratio_wake_session_p50_vs_install)),
  ];
  if ("install" in e2b) {
    lines.push(
      row("E2B (fake): REST install → running", e2b.install),
      row(
        "E2B (fake, 1 s resume): wake, new client",
        e2b.wake_new_client,
        `p95 goal ≤ 1500 ms; Berth's part p50/p95 ${e2b.berth_part_new_client.p50_ms}/${e2b.berth_part_new_client.p95_ms} ms`,
      ),
      row(
        "E2B (fake, 1 s resume): wake, open session",
        e2b.wake_session,
        `Berth's part p50/p95 ${e2b.berth_part_session.p50_ms}/${e2b.berth_part_session.p95_ms} ms`,
      ),
      "",
      `On E2B ${e2b.wakes_that_resumed_a_paused_sandbox} of ${e2b.wakes} wakes resumed the paused sandbox (the fake saw ${e2b.resume_calls_at_fake} resumes in all, the bursts' wakes and any sleep between the steps included). "Berth's part" is the wake minus the fake's 1 s resume delay: the SDK's connect call, reattaching to the server in the sandbox, the database writes and the client's round trips.`,
    );
  } else lines.push("", `E2B: skipped (${e2b.skipped}).`);
  lines.push(
    "",
    `**Requests during a wake**: ${bursts.rounds} bursts of ${BURST_CALLS} concurrent \`create_entities\` from two clients with open sessions, sent while the connection slept: ${bursts.answered} of ${bursts.calls} answered, **${bursts.lost} lost, ${bursts.duplicated} duplicated** (an answer naming its entity counts as answered; tool-call events count the calls that reached the server); wakes per burst: ${bursts.wakes_per_burst.join(", ")}.`,
    "",
    "What the fake cannot show: E2B's real resume time and its spread (the fake waits a fixed 1 s, then sends SIGCONT to processes it had stopped; a real resume restores a memory snapshot, and its time grows with the snapshot's size, i.e. with what the server holds in memory), the network between Berth and E2B (every SDK call and every MCP message crosses it; here it is loopback), and E2B's own queueing when many sandboxes resume at once.",
  );
  return lines.join("\n");
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
