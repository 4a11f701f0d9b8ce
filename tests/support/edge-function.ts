import { type ChildProcess, spawn } from "node:child_process";
import path from "node:path";
import { freePort, waitUntilServing } from "./berth-server";

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
  const url = `http://127.0.0.1:${port}/functions/v1/mcp-connections`;
  const { output, stop } = await waitUntilServing(proc, `${url}/health`, "The function");
  return { url, output, stop: () => stop() };
}
