import type { ChildProcessWithoutNullStreams } from "node:child_process";
import type { Transport } from "@modelcontextprotocol/sdk/shared/transport.js";
import type { JSONRPCMessage } from "@modelcontextprotocol/sdk/types.js";

/**
 * MCP over a child's stdin/stdout, one JSON message a line. Written here rather than using the
 * SDK's StdioClientTransport because Berth spawns the process itself (sandbox wrapper, uid,
 * process group) and, as a relay, only needs each line parsed, not schema-validated.
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
  private pending = "";

  constructor(private readonly child: ChildProcessWithoutNullStreams) {}

  async start() {
    this.child.stdout.setEncoding("utf8");
    this.child.stdout.on("data", (chunk: string) => this.receive(chunk));
    this.child.stdin.on("error", (err) => this.onerror?.(err));
    this.child.once("close", () => this.onclose?.());
  }

  private receive(chunk: string) {
    this.pending += chunk;
    let nl = this.pending.indexOf("\n");
    while (nl !== -1) {
      const line = this.pending.slice(0, nl).trim();
      this.pending = this.pending.slice(nl + 1);
      if (line) {
        try {
          const message = JSON.parse(line);
          this.lastMessageBytes = Buffer.byteLength(line);
          this.onmessage?.(message);
        } catch (err) {
          this.onerror?.(new Error(`server wrote a line that is not JSON: ${(err as Error).message}`));
        }
      }
      nl = this.pending.indexOf("\n");
    }
    if (this.pending.length > 16 * 1024 * 1024) {
      this.pending = "";
      this.onerror?.(new Error("server wrote a line over 16 MiB"));
    }
  }

  send(message: JSONRPCMessage): Promise<void> {
    return new Promise((resolve, reject) => {
      if (!this.child.stdin.writable) return reject(new Error("the server's stdin is closed"));
      if (this.child.stdin.write(`${JSON.stringify(message)}\n`)) resolve();
      else this.child.stdin.once("drain", resolve);
    });
  }

  async close() {
    this.child.stdin.end();
  }
}
