// Runs inside a local sandbox, as the first process of a server that speaks Streamable HTTP:
//   node http-bridge.mjs <port> <path> <command> [args…]
// It starts the server, waits until it listens on 127.0.0.1:<port> (the sandbox's own network
// namespace: nothing outside the sandbox can reach that port), and relays MCP between its own
// stdio, which Berth holds as for any stdio server, and the server's endpoint. So the gateway's
// per-client sessions, audit and limits apply unchanged. The server's stdout and stderr go to
// stderr (stdout is the MCP channel); when the server exits the bridge exits with its status.
import { spawn } from "node:child_process";
import net from "node:net";
import { StreamableHTTPClientTransport } from "@modelcontextprotocol/sdk/client/streamableHttp.js";
import { StdioServerTransport } from "@modelcontextprotocol/sdk/server/stdio.js";

const [port, path, command, ...args] = process.argv.slice(2);
const LISTEN_TIMEOUT_MS = 120_000;

const server = spawn(command, args, { stdio: ["ignore", 2, 2] });
server.on("error", (err) => {
  console.error(`[berth] could not start the server: ${err.message}`);
  process.exit(127);
});
server.on("exit", (code, signal) => {
  if (!signal) process.exit(code ?? 1);
  process.removeAllListeners(signal); // end as the server ended, by the same signal
  process.kill(process.pid, signal);
});
for (const sig of ["SIGTERM", "SIGINT", "SIGHUP"]) process.on(sig, () => server.kill(sig));

const listening = () =>
  new Promise((resolve) => {
    const socket = net.connect(Number(port), "127.0.0.1");
    socket.once("connect", () => {
      socket.end();
      resolve(true);
    });
    socket.once("error", () => resolve(false));
  });

const deadline = Date.now() + LISTEN_TIMEOUT_MS;
while (!(await listening())) {
  if (Date.now() > deadline) {
    console.error(`[berth] the server did not listen on port ${port} within ${LISTEN_TIMEOUT_MS / 1000} s`);
    server.kill("SIGKILL");
    process.exit(1);
  }
  await new Promise((r) => setTimeout(r, 50));
}

const upstream = new StreamableHTTPClientTransport(new URL(`http://127.0.0.1:${port}${path}`));
const downstream = new StdioServerTransport();

downstream.onmessage = (message) => {
  upstream.send(message).catch((err) => {
    // A request the server did not take gets an answer, so no call waits for ever.
    if ("method" in message && "id" in message)
      void downstream.send({
        jsonrpc: "2.0",
        id: message.id,
        error: { code: -32000, message: `The server's HTTP endpoint failed: ${err.message}` },
      });
  });
};
upstream.onmessage = (message) => {
  // Later requests carry the negotiated version in MCP-Protocol-Version, as the spec asks.
  const version = message.result?.protocolVersion;
  if ("id" in message && typeof version === "string" && message.result?.serverInfo)
    upstream.setProtocolVersion(version);
  void downstream.send(message);
};
upstream.onerror = (err) => console.error(`[berth] ${err.message}`);
downstream.onclose = () => server.kill("SIGTERM");

await upstream.start();
await downstream.start();
