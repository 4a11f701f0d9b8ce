import fs from "node:fs";
import os from "node:os";
import path from "node:path";

export const round = (x: number) => Math.round(x * 100) / 100;

export function summarize(samples: number[]) {
  const s = [...samples].sort((a, b) => a - b);
  const pct = (p: number) => round(s[Math.min(s.length - 1, Math.ceil((p / 100) * s.length) - 1)] ?? Number.NaN);
  return {
    n: s.length,
    p50_ms: pct(50),
    p95_ms: pct(95),
    p99_ms: pct(99),
    min_ms: round(s[0] ?? Number.NaN),
    max_ms: round(s.at(-1) ?? Number.NaN),
  };
}

/** A process's resident memory (VmRSS) and CPU time so far, from /proc; undefined once it is gone. */
export function processUsage(pid: number): { rss_mib: number; cpu_s: number } | undefined {
  try {
    const status = fs.readFileSync(`/proc/${pid}/status`, "utf8");
    const rssKiB = Number(/^VmRSS:\s+(\d+)/m.exec(status)?.[1] ?? Number.NaN);
    // Fields 14 and 15 of /proc/<pid>/stat (utime, stime), counted after the parenthesised name.
    const stat = fs.readFileSync(`/proc/${pid}/stat`, "utf8");
    const [utime, stime] = stat
      .slice(stat.lastIndexOf(")") + 2)
      .split(" ")
      .slice(11, 13)
      .map(Number);
    return { rss_mib: round(rssKiB / 1024), cpu_s: round(((utime ?? 0) + (stime ?? 0)) / CLOCK_TICKS) };
  } catch {
    return undefined;
  }
}

/** USER_HZ: 100 on every Linux Node runs on. */
const CLOCK_TICKS = 100;

/** One goal of a benchmark for `npm run bench`'s summary: what, the measured value, the goal, whether met. */
export type Headline = { what: string; value: number | string; goal?: string; met?: boolean };

export const machine = () => ({
  node: process.version,
  cpus: os.cpus().length,
  cpu_model: os.cpus()[0]?.model.trim(),
  mem_gib: round(os.totalmem() / 2 ** 30),
  loadavg: os.loadavg().map(round),
  at: new Date().toISOString(),
});

/** Replaces the block between `<!-- name:start -->` and `<!-- name:end -->` in docs/PERFORMANCE.md. */
export function updatePerformanceDoc(name: string, markdown: string) {
  updateDocSection("PERFORMANCE.md", name, markdown);
}

/** Replaces the block between `<!-- name:start -->` and `<!-- name:end -->` in docs/<doc> (appended if absent). */
export function updateDocSection(doc: string, name: string, markdown: string) {
  const file = path.resolve(import.meta.dirname, "../../docs", doc);
  const start = `<!-- ${name}:start -->`;
  const end = `<!-- ${name}:end -->`;
  const text = fs.existsSync(file) ? fs.readFileSync(file, "utf8") : "# Performance\n";
  const block = `${start}\n${markdown.trim()}\n${end}`;
  const i = text.indexOf(start);
  const j = text.indexOf(end);
  const next =
    i >= 0 && j > i ? text.slice(0, i) + block + text.slice(j + end.length) : `${text.trimEnd()}\n\n${block}\n`;
  fs.writeFileSync(file, next);
}

/** One line for the docs out of /api/health's `sandbox`. */
export function describeSandbox(sandbox: unknown) {
  const s = (sandbox ?? {}) as { provider?: string; isolated?: boolean; missing?: string[] };
  const missing = s.missing?.length ? `; missing: ${s.missing.join(", ")}` : "";
  return `${s.provider ?? "?"}, ${s.isolated ? "isolated" : "NOT isolated"}${missing}`;
}
