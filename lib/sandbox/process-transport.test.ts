import { type ChildProcessWithoutNullStreams, spawn } from "node:child_process";
import type { JSONRPCMessage } from "@modelcontextprotocol/sdk/types.js";
import { afterEach, describe, expect, it } from "vitest";
import { ProcessTransport } from "./process-transport";

const MiB = 1024 * 1024;

/** A real child running `script` (node -e), its stdout read by a ProcessTransport. */
function serve(script: string, options?: ConstructorParameters<typeof ProcessTransport>[1]) {
  const child = spawn(process.execPath, ["-e", script]) as ChildProcessWithoutNullStreams;
  children.push(child);
  const transport = new ProcessTransport(child, options);
  const messages: { message: JSONRPCMessage; bytes: number; at: number }[] = [];
  const errors: string[] = [];
  transport.onmessage = (message) =>
    messages.push({ message, bytes: transport.lastMessageBytes, at: performance.now() });
  transport.onerror = (err) => errors.push(err.message);
  const closed = new Promise<void>((resolve) => {
    transport.onclose = resolve;
  });
  return { child, transport, messages, errors, closed };
}

const children: ChildProcessWithoutNullStreams[] = [];
afterEach(() => {
  for (const c of children.splice(0)) c.kill("SIGKILL");
});

// The child writes with write(2) itself, as a server in any language does: it blocks while the
// pipe is full (process.stdout.write would queue in the child instead). `note` counts on stderr.
const WRITE = `
const fs = require("fs");
const put = (fd, data) => {
  const b = Buffer.from(data);
  for (let off = 0; off < b.length; ) {
    try { off += fs.writeSync(fd, b, off); } catch (e) { if (e.code !== "EAGAIN") throw e; }
  }
};
const out = (data) => put(1, data), note = (text) => put(2, text);`;

describe("ProcessTransport", () => {
  it("delivers a line cut anywhere, multi-byte characters included, with its size in bytes", async () => {
    // Pieces of an odd size, a pause after each so that Berth reads them one by one: most of
    // them end inside a 2-, 3- or 4-byte character.
    const { transport, messages, errors, closed } = serve(`${WRITE}
      const text = "é€😀a".repeat(100_000);
      const line = Buffer.from(JSON.stringify({ jsonrpc: "2.0", method: "big", params: { text } }) + "\\r\\n");
      const pause = new Int32Array(new SharedArrayBuffer(4));
      for (let i = 0; i < line.length; i += 4099) { out(line.subarray(i, i + 4099)); Atomics.wait(pause, 0, 0, 1); }
      out('{"jsonrpc":"2.0","method":"after"}\\n');`);
    await transport.start();
    await closed;
    expect(errors).toEqual([]);
    expect(messages.map((m) => (m.message as { method: string }).method)).toEqual(["big", "after"]);
    const [big] = messages as unknown as { message: { params: { text: string } }; bytes: number }[];
    expect(big?.message.params.text).toBe("é€😀a".repeat(100_000));
    const json = JSON.stringify({ jsonrpc: "2.0", method: "big", params: { text: "é€😀a".repeat(100_000) } });
    expect(big?.bytes).toBe(Buffer.byteLength(json)); // the line's bytes, without \r\n
  });

  it("examines each byte of a long line once, however many chunks it comes in", async () => {
    // 8 MiB in 64 KiB writes without a newline: a splitter that searched the whole pending line
    // for each chunk would examine ~128 × 4 MiB, and stall Berth's event loop doing so.
    const { transport, messages, errors, closed } = serve(`${WRITE}
      const b = Buffer.alloc(65536, "x");
      for (let i = 0; i < 128; i++) out(b);
      out('\\n{"jsonrpc":"2.0","method":"after"}\\n');`);
    await transport.start();
    await closed;
    const written = 8 * MiB + Buffer.byteLength('\n{"jsonrpc":"2.0","method":"after"}\n');
    expect(transport.scannedBytes).toBe(written);
    expect(errors).toEqual([expect.stringMatching(/not JSON/)]);
    expect(messages.map((m) => m.bytes)).toEqual([Buffer.byteLength('{"jsonrpc":"2.0","method":"after"}')]);
  });

  it("drops a line over 16 MiB with one error, holds no more of it than the cap, and reads on", async () => {
    const { transport, messages, errors, closed } = serve(`${WRITE}
      const b = Buffer.alloc(65536, "x");
      for (let i = 0; i < 40 * 16; i++) out(b);
      out('\\n{"jsonrpc":"2.0","method":"after"}\\n');`);
    let held = 0;
    transport.onerror = (err) => {
      errors.push(err.message);
      held = Math.max(held, transport.bufferedBytes);
    };
    await transport.start();
    const watch = setInterval(() => {
      held = Math.max(held, transport.bufferedBytes);
    }, 5);
    await closed;
    clearInterval(watch);
    // One error for the one line (the rest of it, past the cap, is skipped, not parsed).
    expect(errors).toEqual(["server wrote a line over 16 MiB"]);
    expect(messages.map((m) => (m.message as { method: string }).method)).toEqual(["after"]);
    expect(held).toBeLessThanOrEqual(16 * MiB);
    expect(transport.bufferedBytes).toBe(0);
  });

  it("reads a flooding server no faster than maxBytesPerSecond, the server blocking meanwhile", async () => {
    const rate = MiB;
    const line = `${JSON.stringify({ jsonrpc: "2.0", method: "m", params: { p: "x".repeat(16_000) } })}\n`;
    const lineBytes = Buffer.byteLength(line);
    // 256 lines (~4 MiB), written as fast as the pipe takes them; the child counts them on stderr.
    // It stays alive after: Node resumes an exited child's stdout to drain it, unthrottled.
    const { child, transport, messages } = serve(
      `${WRITE}
      for (let i = 1; i <= 256; i++) { out(${JSON.stringify(line)}); note(i + "\\n"); }
      setInterval(() => {}, 1000);`,
      { maxBytesPerSecond: rate },
    );
    let written = 0;
    child.stderr.setEncoding("utf8");
    child.stderr.on("data", (d: string) => {
      written = Number(d.trim().split("\n").at(-1));
    });
    const seen: { at: number; read: number; written: number }[] = [];
    const all = new Promise<void>((resolve) => {
      transport.onmessage = (message) => {
        messages.push({ message, bytes: transport.lastMessageBytes, at: performance.now() });
        seen.push({ at: performance.now(), read: messages.length, written });
        if (messages.length === 256) resolve();
      };
    });
    const started = performance.now();
    await transport.start();
    await all; // none lost
    for (const s of seen) {
      // The bucket starts full (one second's worth) and refills at `rate`; a chunk or two in
      // flight when it pauses the stream is the only excess.
      const allowed = rate + (rate * (s.at - started)) / 1000 + 256 * 1024;
      expect(s.read * lineBytes).toBeLessThanOrEqual(allowed);
      // The server cannot run ahead of what Berth read by more than the pipe and stream buffers.
      expect((s.written - s.read) * lineBytes).toBeLessThanOrEqual(MiB);
    }
    // Load can only make it slower: finishing sooner means the server was not held to the rate.
    const took = (seen.at(-1)?.at ?? 0) - started;
    expect(took).toBeGreaterThan(((256 * lineBytes - rate - 256 * 1024) / rate) * 1000);
  });
});
