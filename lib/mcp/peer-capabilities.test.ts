import { type ChildProcessWithoutNullStreams, spawn } from "node:child_process";
import type { JSONRPCMessage } from "@modelcontextprotocol/sdk/types.js";
import { afterEach, describe, expect, it } from "vitest";
import { ProcessTransport } from "@/lib/sandbox/process-transport";
import { type Peer, UpstreamSession } from "./upstream-session";

/**
 * A real stdio MCP server that, for a tools/call named after a server→client method
 * ("sampling/createMessage", "roots/list"…), sends that request and answers the call with what
 * came back (the client's answer, or Berth's refusal on its behalf).
 */
const ASKER = `
const send = (m) => process.stdout.write(JSON.stringify(m) + "\\n");
let call;
require("readline").createInterface({ input: process.stdin }).on("line", (l) => {
  const m = JSON.parse(l);
  if (m.method === "initialize")
    send({ jsonrpc: "2.0", id: m.id, result: { protocolVersion: "2025-06-18", capabilities: { tools: {} }, serverInfo: { name: "asker", version: "1" } } });
  else if (m.method === "tools/call") { call = m.id; send({ jsonrpc: "2.0", id: "ask", method: m.params.name, params: {} }); }
  else if (m.id === "ask") send({ jsonrpc: "2.0", id: call, result: { content: [{ type: "text", text: JSON.stringify(m) }] } });
});`;

let child: ChildProcessWithoutNullStreams | undefined;
afterEach(() => child?.kill("SIGKILL"));

function peer() {
  const got: JSONRPCMessage[] = [];
  const p: Peer = { deliver: (m) => got.push(m) };
  const next = async (pred: (m: any) => boolean) => {
    for (let i = 0; i < 500; i++) {
      const hit = got.find(pred);
      if (hit) return hit as any;
      await new Promise((r) => setTimeout(r, 10));
    }
    throw new Error("no such message");
  };
  return { p, got, next };
}

describe("a client's declared capabilities", () => {
  it("are kept as which of sampling, elicitation and roots it declared, nothing else of its object", async () => {
    child = spawn(process.execPath, ["-e", ASKER]) as ChildProcessWithoutNullStreams;
    const upstream = new UpstreamSession(new ProcessTransport(child));
    await upstream.connect();
    const a = peer();
    upstream.attach(a.p);
    const capabilities = { sampling: {}, roots: null, experimental: { ballast: "x".repeat(1024 * 1024) } };
    upstream.fromPeer(a.p, { jsonrpc: "2.0", id: 1, method: "initialize", params: { capabilities } });
    expect((await a.next((m) => m.id === 1)).result.serverInfo.name).toBe("asker");

    // What the session holds for the client: a few flags, not the megabyte it sent.
    const { deliver: _, ...kept } = a.p;
    expect(JSON.stringify(kept).length).toBeLessThan(200);

    // Declared: the server's request reaches the client, and its answer the server.
    upstream.fromPeer(a.p, {
      jsonrpc: "2.0",
      id: 2,
      method: "tools/call",
      params: { name: "sampling/createMessage" },
    });
    const ask = await a.next((m) => m.method === "sampling/createMessage");
    upstream.fromPeer(a.p, { jsonrpc: "2.0", id: ask.id, result: { model: "m", role: "assistant" } });
    expect((await a.next((m) => m.id === 2)).result.content[0].text).toContain('"model":"m"');

    // Not declared (roots: null) or absent (elicitation): Berth answers the server itself.
    for (const [id, method, name] of [
      [3, "roots/list", "roots"],
      [4, "elicitation/create", "elicitation"],
    ] as const) {
      upstream.fromPeer(a.p, { jsonrpc: "2.0", id, method: "tools/call", params: { name: method } });
      const text = (await a.next((m) => m.id === id)).result.content[0].text;
      expect(text).toContain(`The client does not support ${name}.`);
      expect(a.got.some((m) => "method" in m && m.method === method)).toBe(false);
    }
    await upstream.close();
  });
});
