import { monitorEventLoopDelay } from "node:perf_hooks";
import type { JSONRPCMessage } from "@modelcontextprotocol/sdk/types.js";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { LocalProvider } from "@/lib/sandbox/local";
import type { Sandbox } from "@/lib/sandbox/provider";
import { bubblewrapProvider, fakeDataDir, owner, requireHost, withTimeout } from "./helpers";

const MiB = 1024 * 1024;

/**
 * A hostile server floods its stdout (the MCP channel) with one endless line. Berth reads every
 * server's stdout on its one event loop, so what reading costs is paid by every tenant's API.
 */
describe("a server flooding its output", () => {
  let data: Awaited<ReturnType<typeof fakeDataDir>>;
  let provider: LocalProvider;
  let sandbox: Sandbox | undefined;

  beforeAll(async () => {
    requireHost("bwrap", "setpriv", "bridge");
    data = await fakeDataDir();
    provider = bubblewrapProvider(data.dir);
  });
  afterAll(async () => {
    if (sandbox) await provider.kill(sandbox.id);
    await provider?.shutdown();
    await data?.cleanup();
  });

  it("without newlines does not stall Berth's event loop, and Berth reads on after it", async () => {
    const flood = 48 * MiB;
    // write(2) straight to the pipe, as fast as it takes it (blocking while it is full).
    const script = `
      const fs = require("fs");
      const out = (b) => {
        for (let off = 0; off < b.length; ) {
          try { off += fs.writeSync(1, b, off); } catch (e) { if (e.code !== "EAGAIN") throw e; }
        }
      };
      const b = Buffer.alloc(65536, "x");
      for (let left = ${flood}; left > 0; left -= b.length) out(b);
      out(Buffer.from('\\n{"jsonrpc":"2.0","method":"notifications/after-the-flood"}\\n'));
      setInterval(() => {}, 1000);`;
    sandbox = await provider.create({
      argv: ["node", "-e", script],
      env: {},
      network: false,
      timeoutSeconds: 60,
      owner: owner("account-flood"),
    });
    const { transport } = sandbox;
    const errors: string[] = [];
    const delay = monitorEventLoopDelay({ resolution: 10 });
    const after = new Promise<JSONRPCMessage>((resolve) => {
      transport.onmessage = resolve;
    });
    transport.onerror = (err) => errors.push(err.message);
    delay.enable();
    const started = performance.now();
    await transport.start();
    const message = await withTimeout(after, 50_000, "the message after the flood");
    const seconds = (performance.now() - started) / 1000;
    delay.disable();
    const ms = (ns: number) => Math.round(ns / 1e5) / 10;
    console.log(
      `flood of ${flood / MiB} MiB read in ${seconds.toFixed(2)} s; event-loop delay ` +
        `p50 ${ms(delay.percentile(50))} ms, p99 ${ms(delay.percentile(99))} ms, max ${ms(delay.max)} ms`,
    );

    // Reading costs time per chunk, not per byte already buffered: no turn of the loop waits
    // long. A splitter that rescanned its buffer for each chunk took hundreds of ms per turn
    // near the cap (p99 685 ms, 48 MiB in 8 s); this one a few ms (43–112 ms p99 measured while
    // the other test worker starts Deno and Berth on the same 2 cores): the bound sits between.
    expect(delay.percentile(99) / 1e6).toBeLessThan(250);
    expect(message).toMatchObject({ method: "notifications/after-the-flood" });
    // The endless line is dropped once, at the 16 MiB cap; the rest of it is skipped unparsed.
    expect(errors).toEqual(["server wrote a line over 16 MiB"]);
  });
});
