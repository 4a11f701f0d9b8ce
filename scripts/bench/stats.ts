import fs from "node:fs";
import os from "node:os";
import path from "node:path";

export const round = (x: number) => Math.round(x * 100) / 100;

export function summarize(samples: number[]) {
  const s = [...samples].sort((a, b) => a - b);
  const pct = (p: number) => round(s[Math.min(s.length - 1, Math.ceil((p / 100) * s.length) - 1)] ?? Number.NaN);
  return { n: s.length, p50_ms: pct(50), p95_ms: pct(95), min_ms: round(s[0] ?? Number.NaN) };
}

export const machine = () => ({
  node: process.version,
  cpus: os.cpus().length,
  loadavg: os.loadavg().map(round),
  at: new Date().toISOString(),
});

/** Replaces the block between `<!-- name:start -->` and `<!-- name:end -->` in docs/PERFORMANCE.md. */
export function updatePerformanceDoc(name: string, markdown: string) {
  const file = path.resolve(import.meta.dirname, "../../docs/PERFORMANCE.md");
  const start = `<!-- ${name}:start -->`;
  const end = `<!-- ${name}:end -->`;
  const doc = fs.existsSync(file) ? fs.readFileSync(file, "utf8") : "# Performance\n";
  const block = `${start}\n${markdown.trim()}\n${end}`;
  const i = doc.indexOf(start);
  const j = doc.indexOf(end);
  const next = i >= 0 && j > i ? doc.slice(0, i) + block + doc.slice(j + end.length) : `${doc.trimEnd()}\n\n${block}\n`;
  fs.writeFileSync(file, next);
}

/** One line for the docs out of /api/health's `sandbox`. */
export function describeSandbox(sandbox: unknown) {
  const s = (sandbox ?? {}) as { provider?: string; isolated?: boolean; missing?: string[] };
  const missing = s.missing?.length ? `; missing: ${s.missing.join(", ")}` : "";
  return `${s.provider ?? "?"}, ${s.isolated ? "isolated" : "NOT isolated"}${missing}`;
}
