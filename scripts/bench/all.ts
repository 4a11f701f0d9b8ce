// `npm run bench`: the production build, then every `bench:*` script of package.json, each as a
// child process with the rounds that fit the whole run into 20 minutes on a 2-core machine (the
// soak keeps its 10). Prints one JSON document of all their outputs, and writes the date, the
// machine and a summary of every headline goal at the top of docs/PERFORMANCE.md (each
// benchmark rewrites its own section below).
import { spawn } from "node:child_process";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { performance } from "node:perf_hooks";
import { parseArgs } from "node:util";
import { type Headline, machine, round, updateDocSection, updatePerformanceDoc } from "./stats";

const ROOT = path.resolve(import.meta.dirname, "../..");
const { values } = parseArgs({
  options: {
    "skip-build": { type: "boolean", default: false },
    only: { type: "string" }, // comma-separated names, as `wake,density`
  },
});

/**
 * Arguments that fit each benchmark into the budget, from their durations measured on this
 * machine under other engineers' load (1-min load 6–30): the build ~65 s, install ~5 s a run,
 * gateway ~45 s a round, api ~60 s (mostly seeding 100,000 rows twice), maintenance ~90 s a
 * round, wake ~20 s a cycle (both providers), density ~130 s, the soak its 10 min + ~40 s to set
 * up. A benchmark not named here (added since) runs with its own defaults.
 */
const BUDGET_ARGS: Record<string, string[]> = {
  install: ["--runs", "6", "--warmup", "1"],
  gateway: ["--rounds", "1"],
  api: ["--runs", "50", "--warmup", "5"],
  maintenance: ["--rounds", "1"],
  wake: ["--cycles", "4", "--bursts", "2"],
  density: [],
  soak: ["--minutes", "10"],
};

/** Known ones first in this order, others after them, the soak last (the longest, and RSS-flatness wants a settled host). */
const ORDER = ["install", "gateway", "api", "maintenance", "wake", "density"];
const rank = (name: string) => (name === "soak" ? 1000 : ORDER.indexOf(name) === -1 ? 500 : ORDER.indexOf(name));

type Run = { name: string; seconds: number; exit: number | null; result?: Record<string, unknown>; error?: string };

function benchmarks(): string[] {
  const scripts = (
    JSON.parse(fs.readFileSync(path.join(ROOT, "package.json"), "utf8")) as { scripts: Record<string, string> }
  ).scripts;
  const only = values.only?.split(",");
  return Object.keys(scripts)
    .filter((s) => s.startsWith("bench:"))
    .map((s) => s.slice("bench:".length))
    .filter((n) => !only || only.includes(n))
    .sort((a, b) => rank(a) - rank(b));
}

/** Runs a command; its stderr goes to ours (progress), its stdout is returned. */
function run(command: string, args: string[], env: NodeJS.ProcessEnv = process.env) {
  return new Promise<{ stdout: string; exit: number | null }>((resolve) => {
    const child = spawn(command, args, { cwd: ROOT, env, stdio: ["ignore", "pipe", "inherit"] });
    let stdout = "";
    child.stdout.setEncoding("utf8").on("data", (d: string) => {
      stdout += d;
    });
    child.on("close", (exit) => resolve({ stdout, exit }));
  });
}

/**
 * A benchmark prints one JSON document, from a line `{` to a line `}`; lines before or after it
 * (npm's banner, a plain-text headline) are not part of it.
 */
function lastJson(stdout: string): Record<string, unknown> | undefined {
  const start = stdout.search(/^\{/m);
  const end = stdout.lastIndexOf("\n}");
  if (start < 0 || end < start) return undefined;
  try {
    return JSON.parse(stdout.slice(start, end + 2));
  } catch {
    return undefined;
  }
}

async function main() {
  const t0 = performance.now();
  const loads: number[] = [];
  const loadSampler = setInterval(() => loads.push(os.loadavg()[0] ?? 0), 10_000);
  const before = machine();
  let buildSeconds: number | undefined;
  if (!values["skip-build"]) {
    console.error("[bench] production build");
    const b0 = performance.now();
    const build = await run("npx", ["next", "build"], { ...process.env, NODE_ENV: "production" });
    buildSeconds = round((performance.now() - b0) / 1000);
    if (build.exit !== 0) throw new Error(`the production build failed (${build.exit})`);
  }
  const runs: Run[] = [];
  for (const name of benchmarks()) {
    const args = BUDGET_ARGS[name] ?? [];
    console.error(`[bench] ${name} ${args.join(" ")}`);
    const s = performance.now();
    const { stdout, exit } = await run("npm", ["run", "--silent", `bench:${name}`, "--", ...args]);
    const seconds = round((performance.now() - s) / 1000);
    const result = lastJson(stdout);
    runs.push({ name, seconds, exit, result, ...(exit === 0 && result ? {} : { error: `exit ${exit}` }) });
    console.error(`[bench] ${name}: ${seconds} s, exit ${exit}`);
  }
  clearInterval(loadSampler);
  const totalMinutes = round((performance.now() - t0) / 60_000);
  const load = {
    before: before.loadavg,
    after: os.loadavg().map(round),
    mean_1min: round(loads.reduce((a, b) => a + b, 0) / Math.max(1, loads.length)),
    max_1min: round(Math.max(...loads, 0)),
  };
  const out = {
    ...before,
    build_seconds: buildSeconds,
    total_minutes: totalMinutes,
    goal_total_minutes: "< 20",
    load,
    benchmarks: Object.fromEntries(
      runs.map((r) => [r.name, { seconds: r.seconds, exit: r.exit, ...r.result, error: r.error }]),
    ),
  };
  console.log(JSON.stringify(out, null, 2));
  updatePerformanceDoc("bench-summary", summary(out, runs, load, buildSeconds, totalMinutes));
  updateDocSection("SCALING.md", "scaling-limits", scalingLimits(out.at, runs));
  console.error(`[bench] total ${totalMinutes} min`);
}

/** The limits docs/SCALING.md quotes: the headlines of the benchmarks about one instance's capacity. */
function scalingLimits(at: string, runs: Run[]) {
  const lines = runs
    .filter((r) => ["wake", "density", "soak"].includes(r.name) && !r.error)
    .flatMap((r) =>
      ((r.result?.headline ?? []) as Headline[]).map(
        (h) => `- ${h.what}: **${h.value}**${h.goal ? ` (goal ${h.goal})` : ""}`,
      ),
    );
  return [
    `From \`npm run bench\` on ${at.slice(0, 10)} (one instance, 2 cores; docs/PERFORMANCE.md has the method and every figure):`,
    "",
    ...(lines.length ? lines : ["- (the capacity benchmarks did not run)"]),
  ].join("\n");
}

function summary(
  m: ReturnType<typeof machine>,
  runs: Run[],
  load: { before: number[]; after: number[]; mean_1min: number; max_1min: number },
  buildSeconds: number | undefined,
  totalMinutes: number,
) {
  const rows = runs.flatMap((r) => {
    const headline = (r.result?.headline ?? []) as Headline[];
    if (r.error) return [`| ${r.name} | ${r.seconds} s | failed (${r.error}) | | | |`];
    if (!headline.length) return [`| ${r.name} | ${r.seconds} s | see its section | | | |`];
    return headline.map(
      (h, i) =>
        `| ${i ? "" : r.name} | ${i ? "" : `${r.seconds} s`} | ${h.what} | ${h.value} | ${h.goal ?? ""} | ${h.met === undefined ? "" : h.met ? "yes" : "**no**"} |`,
    );
  });
  return [
    "## Summary (`npm run bench`)",
    "",
    `${m.at}: ${m.cpu_model}, ${m.cpus} cores, ${m.mem_gib} GiB RAM, Node ${m.node}. Shared with other work: load (1 min) ${load.before[0]} at the start, mean ${load.mean_1min}, max ${load.max_1min} during the run. Production build${buildSeconds === undefined ? " (already built)" : ` in ${buildSeconds} s`}, then every \`bench:*\` script in turn; **${totalMinutes} min** in all (goal < 20). Ratios are against baselines measured in the same run; absolute times move with the load.`,
    "",
    "| benchmark | took | what | measured | goal | met |",
    "|---|---|---|---|---|---|",
    ...rows,
  ].join("\n");
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
