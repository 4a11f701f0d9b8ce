import type { ChildProcessWithoutNullStreams } from "node:child_process";
import type { Transport } from "@modelcontextprotocol/sdk/shared/transport.js";
import type { JSONRPCMessage } from "@modelcontextprotocol/sdk/types.js";
import { MESSAGE_COST_BYTES, throttle } from "./output-throttle";

/** A line longer than this is dropped (with an error), never buffered further. */
const MAX_LINE_BYTES = 16 * 1024 * 1024;
/**
 * Input waiting for a server that does not read it, at most: past this the server counts as
 * gone. Node would otherwise queue every message for it in Berth's own memory, outside any
 * sandbox's limits.
 */
const MAX_PENDING_INPUT_BYTES = 16 * 1024 * 1024;
const NEWLINE = 0x0a; // never part of a multi-byte UTF-8 character, so lines split on bytes

export type ProcessTransportOptions = {
  /**
   * How fast the server's stdout is read, in bytes per second, with one second's worth as a
   * burst and each message (line) counting MESSAGE_COST_BYTES more (output-throttle.ts);
   * undefined reads it as fast as it comes.
   */
  maxBytesPerSecond?: number;
};

/**
 * MCP over a child's stdin/stdout, one JSON message a line. Written here rather than using the
 * SDK's StdioClientTransport because Berth spawns the process itself (sandbox wrapper, uid,
 * process group) and, as a relay, only needs each line parsed, not schema-validated.
 *
 * The server is untrusted and Berth reads every server on one event loop, so reading costs time
 * per chunk, never per byte already buffered: a line's chunks are kept as they came and joined
 * once it is complete, and only the new chunk is searched for its end.
 */
export class ProcessTransport implements Transport {
  onmessage?: (message: JSONRPCMessage) => void;
  onerror?: (error: Error) => void;
  onclose?: () => void;
  /**
   * The size of the line behind the message being delivered: the audit log records sizes, and
   * re-serializing a large result only to measure it would cost more than relaying it.
   */
  lastMessageBytes = 0;
  /** Bytes searched for a line end so far: each byte once (tests hold the splitter to that). */
  scannedBytes = 0;
  /** The chunks of the line not yet complete, and their size. */
  private parts: Buffer[] = [];
  private partsBytes = 0;
  /** Set once a line passed the cap: the rest of it is skipped up to its newline. */
  private skipping = false;
  private unthrottle?: () => void;

  constructor(
    private readonly child: ChildProcessWithoutNullStreams,
    private readonly options: ProcessTransportOptions = {},
  ) {}

  /** Bytes held for the line not yet complete (at most the 16 MiB cap). */
  get bufferedBytes() {
    return this.partsBytes;
  }

  async start() {
    this.child.stdout.on("data", (chunk: Buffer) => this.receive(chunk));
    const rate = this.options.maxBytesPerSecond;
    if (rate !== undefined) this.unthrottle = throttle(this.child.stdout, rate, rate, MESSAGE_COST_BYTES);
    this.child.stdin.on("error", (err) => this.onerror?.(err));
    this.child.once("close", () => {
      this.unthrottle?.();
      this.onclose?.();
    });
  }

  private receive(chunk: Buffer) {
    let start = 0;
    for (let nl = chunk.indexOf(NEWLINE); nl !== -1; nl = chunk.indexOf(NEWLINE, start)) {
      this.scannedBytes += nl + 1 - start;
      const tail = chunk.subarray(start, nl);
      start = nl + 1;
      if (this.skipping) {
        this.skipping = false;
        continue;
      }
      const size = this.partsBytes + tail.length;
      const parts = this.parts;
      this.parts = [];
      this.partsBytes = 0;
      if (size > MAX_LINE_BYTES) this.onerror?.(new Error("server wrote a line over 16 MiB"));
      else this.parse(parts.length ? Buffer.concat([...parts, tail], size) : tail);
    }
    this.scannedBytes += chunk.length - start;
    if (start === chunk.length || this.skipping) return;
    this.parts.push(start ? chunk.subarray(start) : chunk);
    this.partsBytes += chunk.length - start;
    if (this.partsBytes > MAX_LINE_BYTES) {
      this.parts = [];
      this.partsBytes = 0;
      this.skipping = true;
      this.onerror?.(new Error("server wrote a line over 16 MiB"));
    }
  }

  private parse(bytes: Buffer) {
    const text = bytes.toString("utf8");
    const line = text.trim();
    if (!line) return;
    try {
      const message = JSON.parse(line);
      this.lastMessageBytes = line.length === text.length ? bytes.length : Buffer.byteLength(line);
      this.onmessage?.(message);
    } catch (err) {
      this.onerror?.(new Error(`server wrote a line that is not JSON: ${(err as Error).message}`));
    }
  }

  send(message: JSONRPCMessage): Promise<void> {
    return this.sendNow(message) ?? Promise.resolve();
  }

  /**
   * Writes the message at once: undefined when the pipe took it (every request of a server that
   * keeps up), else a promise of the outcome. The gateway forwards each client request this way:
   * a promise and its callbacks per request cost more than the write itself.
   */
  sendNow(message: JSONRPCMessage): Promise<void> | undefined {
    const stdin = this.child.stdin;
    if (!stdin.writable) return Promise.reject(new Error("the server's stdin is closed"));
    if (stdin.writableLength > MAX_PENDING_INPUT_BYTES) {
      return Promise.reject(new Error("the server has not read its input (16 MiB waiting)"));
    }
    try {
      if (stdin.write(`${JSON.stringify(message)}\n`)) return undefined;
    } catch (err) {
      return Promise.reject(err); // as send's promise did: a failed write fails the request, not the caller
    }
    return new Promise((resolve) => stdin.once("drain", resolve));
  }

  async close() {
    this.child.stdin.end();
  }
}
