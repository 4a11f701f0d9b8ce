// The lower bound for any Streamable HTTP bridge in `bench:gateway`: node:http in front of one
// stdio server, relaying lines both ways with nothing else (no auth, audit, sessions, id
// rewriting, or SSE; one client at a time). Not a product: a yardstick.
import { spawn } from "node:child_process";
import http from "node:http";

const [port, command, ...args] = process.argv.slice(2);
const server = spawn(command as string, args, { stdio: ["pipe", "pipe", "ignore"] });
const waiting = new Map<unknown, http.ServerResponse>();
let pending = "";
server.stdout.setEncoding("utf8");
server.stdout.on("data", (chunk: string) => {
  pending += chunk;
  for (let nl = pending.indexOf("\n"); nl !== -1; nl = pending.indexOf("\n")) {
    const line = pending.slice(0, nl);
    pending = pending.slice(nl + 1);
    const id = JSON.parse(line).id;
    const res = waiting.get(id);
    waiting.delete(id);
    res?.writeHead(200, { "content-type": "application/json", "mcp-session-id": "bare" }).end(line);
  }
});
http
  .createServer((req, res) => {
    if (req.method !== "POST") return void res.writeHead(405).end();
    const chunks: Buffer[] = [];
    req.on("data", (c: Buffer) => chunks.push(c));
    req.on("end", () => {
      const body = Buffer.concat(chunks).toString("utf8");
      const { id } = JSON.parse(body);
      if (id === undefined) res.writeHead(202).end();
      else waiting.set(id, res);
      server.stdin.write(`${body}\n`);
    });
  })
  .listen(Number(port), "127.0.0.1");
process.on("SIGTERM", () => {
  server.kill();
  process.exit(0);
});
