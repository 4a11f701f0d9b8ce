import { spawn } from "node:child_process";
import path from "node:path";
import type { Transport } from "@modelcontextprotocol/sdk/shared/transport.js";
import {
  type JSONRPCMessage,
  LATEST_PROTOCOL_VERSION,
  SUPPORTED_PROTOCOL_VERSIONS,
} from "@modelcontextprotocol/sdk/types.js";
import { afterEach, describe, expect, it } from "vitest";
import { ProcessTransport } from "@/lib/sandbox/process-transport";
import { UndeliveredError } from "@/lib/sandbox/provider";
import { PROJECT_MODULES, resolvePreparedCommand } from "@/lib/sandbox/start-command";
import { tempDir } from "../../tests/support/temp-dirs";
import {
  negotiateVersion,
  type Peer,
  type ToolCallObservation,
  UpstreamSession,
  versionHeaderProblem,
} from "./upstream-session";

/** A real memory server over stdio, shared by two fake client sessions. */
function startMemory() {
  const dir = tempDir("upstream-");
  const [cmd, ...args] = resolvePreparedCommand(
    ["npx", "-y", "@modelcontextprotocol/server-memory@2026.8.31"],
    PROJECT_MODULES,
  );
  const env = { ...process.env, MEMORY_FILE_PATH: path.join(dir, "m.jsonl") };
  const child = spawn(cmd as string, args, { env });
  return { child, session: new UpstreamSession(new ProcessTransport(child)) };
}

function startEverything() {
  const [cmd, ...args] = resolvePreparedCommand(
    ["npx", "-y", "@modelcontextprotocol/server-everything@2026.8.31", "stdio"],
    PROJECT_MODULES,
  );
  const child = spawn(cmd as string, args, { env: process.env });
  return { child, session: new UpstreamSession(new ProcessTransport(child)) };
}

function peer() {
  const got: { message: JSONRPCMessage; related?: unknown }[] = [];
  const p: Peer = { deliver: (message, related) => got.push({ message, related }) };
  const waitFor = async (id: unknown) => {
    for (let i = 0; i < 200; i++) {
      const hit = got.find((g) => "id" in g.message && g.message.id === id && !("method" in g.message));
      if (hit) return hit.message as JSONRPCMessage & { result?: any; error?: any };
      await new Promise((r) => setTimeout(r, 10));
    }
    throw new Error(`no answer to ${String(id)}`);
  };
  return { p, got, waitFor };
}

/**
 * A transport like the SDK's HTTP client's: `initialize` is answered, every other request's send
 * stays under way until the test settles it (`sends`), and closing aborts the sends under way.
 */
function heldTransport() {
  const sends: { message: JSONRPCMessage; resolve: () => void; reject: (err: Error) => void }[] = [];
  const transport: Transport = {
    start: async () => {},
    send: async (message) => {
      if ("method" in message && message.method === "initialize" && "id" in message) {
        const result = {
          protocolVersion: LATEST_PROTOCOL_VERSION,
          capabilities: {},
          serverInfo: { name: "held", version: "1" },
        };
        queueMicrotask(() => transport.onmessage?.({ jsonrpc: "2.0", id: message.id, result }));
        return;
      }
      if (!("method" in message && "id" in message)) return;
      await new Promise<void>((resolve, reject) => sends.push({ message, resolve, reject }));
    },
    close: async () => {
      for (const s of sends.splice(0)) s.reject(new DOMException("This operation was aborted", "AbortError"));
    },
  };
  return { transport, sends };
}

let cleanup: (() => void) | undefined;
afterEach(() => cleanup?.());

describe("UpstreamSession", () => {
  it("multiplexes clients that use the same request ids, each getting its own answers", async () => {
    const { child, session } = startMemory();
    cleanup = () => child.kill("SIGKILL");
    const init = await session.connect();
    expect(init.serverInfo.name).toBe("memory-server");
    const a = peer();
    const b = peer();
    session.attach(a.p);
    session.attach(b.p);

    session.fromPeer(a.p, { jsonrpc: "2.0", id: 1, method: "initialize", params: {} } as JSONRPCMessage);
    expect((await a.waitFor(1)).result.serverInfo.name).toBe("memory-server");

    session.fromPeer(a.p, { jsonrpc: "2.0", id: 7, method: "tools/list", params: {} });
    session.fromPeer(b.p, {
      jsonrpc: "2.0",
      id: 7,
      method: "tools/call",
      params: { name: "read_graph", arguments: {} },
    });
    const [ra, rb] = await Promise.all([a.waitFor(7), b.waitFor(7)]);
    expect(ra.result.tools.map((t: { name: string }) => t.name)).toContain("read_graph");
    expect(rb.result.content).toBeDefined();
    expect(a.got.length).toBe(2);
    expect(b.got.length).toBe(1);
    expect(rb).not.toHaveProperty("result.tools");
  });

  it("fails requests in flight at once when the server dies", async () => {
    const { child, session } = startMemory();
    cleanup = () => child.kill("SIGKILL");
    await session.connect();
    const a = peer();
    session.attach(a.p);
    child.stdout.pause(); // the answer will never be read
    session.fromPeer(a.p, { jsonrpc: "2.0", id: "x", method: "tools/list", params: {} });
    child.kill("SIGKILL");
    const answer = await a.waitFor("x");
    expect(answer.error.message).toMatch(/exited|stopped/);
    expect(session.isOpen).toBe(false);
    session.fromPeer(a.p, { jsonrpc: "2.0", id: "y", method: "tools/list", params: {} });
    expect((await a.waitFor("y")).error.message).toMatch(/not running/);
  });

  it("when its server ended, lets a request still being sent learn whether it reached it", async () => {
    const { transport, sends } = heldTransport();
    const session = new UpstreamSession(transport);
    await session.connect();
    const retried: JSONRPCMessage[] = [];
    const a = peer();
    a.p.retry = (m) => retried.push(m);
    session.attach(a.p);
    const request = { jsonrpc: "2.0" as const, id: "x", method: "tools/list", params: {} };
    session.fromPeer(a.p, request);
    expect(sends).toHaveLength(1);
    const ended = session.end("The sandbox was killed.");
    // Still under way: neither failed nor aborted.
    await new Promise((r) => setTimeout(r, 20));
    expect(a.got).toEqual([]);
    // The gone sandbox's proxy says it never reached the server: it goes back, for the next server.
    sends[0]?.reject(new UndeliveredError("gone"));
    await ended;
    expect(retried).toEqual([request]);
    expect(a.got).toEqual([]);
  });

  it("when its server ended, fails a request whose send does not settle within the grace, with the reason", async () => {
    const { transport } = heldTransport();
    const session = new UpstreamSession(transport);
    await session.connect();
    const a = peer();
    a.p.retry = () => {
      throw new Error("an aborted send may have reached the server: it is not sent again");
    };
    session.attach(a.p);
    session.fromPeer(a.p, { jsonrpc: "2.0", id: "y", method: "tools/list", params: {} });
    await session.end("The sandbox was killed.", 50);
    expect((await a.waitFor("y")).error.message).toBe("The sandbox was killed.");
  });

  it("reports each tool call's timing and sizes in bytes as received, never its content", async () => {
    const { child, session } = startMemory();
    cleanup = () => child.kill("SIGKILL");
    const calls: ToolCallObservation[] = [];
    session.onToolCall = (c) => calls.push(c);
    await session.connect();
    const a = peer();
    session.attach(a.p);
    const name = "é".repeat(100); // 200 bytes in UTF-8: sizes must count bytes, not characters
    const entities = [{ name, entityType: "t", observations: [] }];
    session.fromPeer(a.p, {
      jsonrpc: "2.0",
      id: 1,
      method: "tools/call",
      params: { name: "create_entities", arguments: { entities } },
    });
    await a.waitFor(1);
    session.fromPeer(a.p, {
      jsonrpc: "2.0",
      id: 2,
      method: "tools/call",
      params: { name: "read_graph", arguments: {} },
    });
    const answer = await a.waitFor(2);
    expect(calls.map((c) => [c.tool, c.outcome])).toEqual([
      ["create_entities", "ok"],
      ["read_graph", "ok"],
    ]);
    const [created, read] = calls as [ToolCallObservation, ToolCallObservation];
    expect(created.requestBytes).toBeGreaterThanOrEqual(Buffer.byteLength(JSON.stringify({ entities })));
    const resultBytes = Buffer.byteLength(JSON.stringify(answer.result));
    expect(read.responseBytes).toBeGreaterThanOrEqual(resultBytes);
    expect(read.responseBytes).toBeLessThan(resultBytes + 64); // plus the JSON-RPC envelope
    expect(JSON.stringify(calls)).not.toContain("é");
  });

  it("subscribes a restarted server again to what its clients had subscribed to", async () => {
    const first = startEverything();
    const second = startEverything();
    cleanup = () => {
      first.child.kill("SIGKILL");
      second.child.kill("SIGKILL");
    };
    await Promise.all([first.session.connect(), second.session.connect()]);
    const a = peer();
    first.session.attach(a.p);
    const uri = "demo://resource/static/document/architecture.md";
    first.session.fromPeer(a.p, { jsonrpc: "2.0", id: 1, method: "resources/subscribe", params: { uri } });
    expect((await a.waitFor(1)).error).toBeUndefined();

    // What the gateway does when the connection's server is replaced.
    first.session.detach(a.p);
    second.session.attach(a.p);
    // The server logs a subscription before recording it; switch the updates on only after.
    const subscribed = () => JSON.stringify(a.got).split("Received Subscribe").length - 1;
    for (let i = 0; i < 200 && subscribed() < 2; i++) await new Promise((r) => setTimeout(r, 10));
    await new Promise((r) => setTimeout(r, 50));
    second.session.fromPeer(a.p, {
      jsonrpc: "2.0",
      id: 2,
      method: "tools/call",
      params: { name: "toggle-subscriber-updates", arguments: {} },
    });
    await a.waitFor(2);
    for (let i = 0; i < 200 && !updates(a).length; i++) await new Promise((r) => setTimeout(r, 10));
    expect(updates(a)).toEqual([uri]);
  });

  it("logs at the most verbose level any client asked for, and gives each client only what its level lets through", async () => {
    const { child, session } = startEverything();
    cleanup = () => child.kill("SIGKILL");
    await session.connect();
    const quiet = peer();
    const chatty = peer();
    session.attach(quiet.p);
    session.attach(chatty.p);
    const subscribeLogs = (p: ReturnType<typeof peer>) =>
      p.got.filter((g) => JSON.stringify(g.message).includes("Received Subscribe")).length;

    session.fromPeer(quiet.p, { jsonrpc: "2.0", id: 1, method: "logging/setLevel", params: { level: "error" } });
    await quiet.waitFor(1);
    // The server itself now logs errors only: its info message about a subscription reaches nobody.
    session.fromPeer(chatty.p, { jsonrpc: "2.0", id: 2, method: "resources/subscribe", params: { uri: "demo://a" } });
    await chatty.waitFor(2);
    await new Promise((r) => setTimeout(r, 100));
    expect([subscribeLogs(quiet), subscribeLogs(chatty)]).toEqual([0, 0]);

    session.fromPeer(chatty.p, { jsonrpc: "2.0", id: 3, method: "logging/setLevel", params: { level: "info" } });
    await chatty.waitFor(3);
    session.fromPeer(chatty.p, { jsonrpc: "2.0", id: 4, method: "resources/subscribe", params: { uri: "demo://b" } });
    await chatty.waitFor(4);
    for (let i = 0; i < 100 && !subscribeLogs(chatty); i++) await new Promise((r) => setTimeout(r, 10));
    expect([subscribeLogs(quiet), subscribeLogs(chatty)]).toEqual([0, 1]);
  });
});

const updates = (p: ReturnType<typeof peer>) =>
  p.got
    .filter((g) => "method" in g.message && g.message.method === "notifications/resources/updated")
    .map((g) => (g.message as unknown as { params: { uri: string } }).params.uri);

describe("negotiateVersion", () => {
  it("answers each version Berth speaks with itself, and anything else with the latest", () => {
    expect(SUPPORTED_PROTOCOL_VERSIONS.length).toBeGreaterThan(3);
    for (const v of SUPPORTED_PROTOCOL_VERSIONS) expect(negotiateVersion(v)).toBe(v);
    for (const v of ["2099-01-01", "", 2025, undefined, null, { v: 1 }])
      expect(negotiateVersion(v)).toBe(LATEST_PROTOCOL_VERSION);
  });
});

describe("versionHeaderProblem", () => {
  it("takes no header, and every version Berth speaks up to the session's", () => {
    const versions = [...SUPPORTED_PROTOCOL_VERSIONS].sort();
    for (const negotiated of versions) {
      expect(versionHeaderProblem(undefined, negotiated)).toBeUndefined();
      for (const header of versions) {
        const problem = versionHeaderProblem(header, negotiated);
        if (header <= negotiated) expect(problem, `${header} on ${negotiated}`).toBeUndefined();
        else expect(problem, `${header} on ${negotiated}`).toMatch(`negotiated MCP ${negotiated}`);
      }
    }
  });

  it("refuses a version Berth does not speak, before or without a session", () => {
    for (const header of ["1999-01-01", "2099-01-01", "latest", "", ["2025-06-18", "2025-06-18"]])
      for (const negotiated of [undefined, LATEST_PROTOCOL_VERSION])
        expect(versionHeaderProblem(header, negotiated)).toMatch(/Unsupported MCP-Protocol-Version/);
  });
});
