import fs from "node:fs";
import http from "node:http";
import path from "node:path";
import { BerthError, isBerthError } from "@/lib/core/errors";
import { type CliDeps, type CliInvocation, runCommand } from "./commands";

/**
 * The embedded database (PGlite) belongs to one process. While Berth runs, the CLI hands its
 * command to the server through a Unix socket in the data dir (mode 0600, a directory only
 * Berth's user can enter) instead of opening the database a second time.
 */
export const cliSocketPath = (dataDir: string) => path.join(dataDir, "cli.sock");

export function listenForCli(deps: CliDeps, dataDir: string): Promise<http.Server> {
  const file = cliSocketPath(dataDir);
  fs.rmSync(file, { force: true });
  const server = http.createServer((req, res) => {
    let body = "";
    req.on("data", (c) => {
      body += c;
    });
    req.on("end", async () => {
      try {
        const result = await runCommand(deps, JSON.parse(body) as CliInvocation);
        res.writeHead(200, { "content-type": "application/json" }).end(JSON.stringify({ ok: true, result }));
      } catch (err) {
        const known = isBerthError(err);
        res.writeHead(200, { "content-type": "application/json" }).end(
          JSON.stringify({
            ok: false,
            code: known ? err.code : "internal_error",
            message: known ? err.message : String(err),
          }),
        );
      }
    });
  });
  return new Promise((resolve, reject) => {
    server.once("error", reject);
    server.listen(file, () => {
      fs.chmodSync(file, 0o600);
      resolve(server);
    });
  });
}

/** Sends the command to a running Berth; `undefined` when none listens. */
export function sendToServer(dataDir: string, invocation: CliInvocation): Promise<unknown | undefined> {
  const file = cliSocketPath(dataDir);
  if (!fs.existsSync(file)) return Promise.resolve(undefined);
  return new Promise((resolve, reject) => {
    const req = http.request({ socketPath: file, method: "POST", path: "/" }, (res) => {
      let body = "";
      res.on("data", (c) => {
        body += c;
      });
      res.on("end", () => {
        const answer = JSON.parse(body) as { ok: boolean; result?: unknown; code?: string; message?: string };
        if (answer.ok) resolve(answer.result);
        else reject(new BerthError((answer.code as "bad_request") ?? "internal_error", answer.message ?? "failed"));
      });
    });
    req.on("error", (err: NodeJS.ErrnoException) => {
      if (err.code === "ECONNREFUSED" || err.code === "ENOENT")
        resolve(undefined); // stale socket: no server
      else reject(err);
    });
    req.end(JSON.stringify(invocation));
  });
}
