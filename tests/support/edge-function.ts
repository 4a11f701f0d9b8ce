import { type ChildProcess, spawn } from "node:child_process";
import path from "node:path";
import { freePort } from "./berth-server";

const ROOT = path.resolve(import.meta.dirname, "../..");

export type EdgeFunction = { url: string; output(): string; stop(): Promise<void> };

/** `npm run functions:serve` on a free port, waited for until it answers; its base URL. */
export async function startEdgeFunction(env: Record<string, string>): Promise<EdgeFunction> {
  const port = await freePort();
  const proc: ChildProcess = spawn(process.execPath, [path.join(ROOT, "scripts/functions-serve.mjs")], {
    cwd: ROOT,
    env: { ...process.env, ...env, PORT: String(port) },
    stdio: ["ignore", "pipe", "pipe"],
  });
  let out = "";
  proc.stdout?.on("data", (d) => {
    out += d;
  });
  proc.stderr?.on("data", (d) => {
    out += d;
  });
  const url = `http://127.0.0.1:${port}/functions/v1/mcp-connections`;
  const deadline = Date.now() + 90_000;
  for (;;) {
    if (proc.exitCode !== null) throw new Error(`The function exited (${proc.exitCode}) before it answered:\n${out}`);
    if (Date.now() > deadline) throw new Error(`The function did not answer in 90 s:\n${out}`);
    const ok = await fetch(`${url}/health`).then(
      (r) => r.ok,
      () => false,
    );
    if (ok) break;
    await new Promise((r) => setTimeout(r, 200));
  }
  const exited = new Promise<void>((resolve) => proc.once("exit", () => resolve()));
  return {
    url,
    output: () => out,
    async stop() {
      if (proc.exitCode === null && proc.signalCode === null) proc.kill("SIGTERM");
      await exited;
    },
  };
}
