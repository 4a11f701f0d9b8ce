import { type ChildProcessWithoutNullStreams, spawn } from "node:child_process";
import { afterEach, describe, expect, it } from "vitest";
import { throttle } from "./output-throttle";

const KiB = 1024;
const MiB = 1024 * KiB;

/**
 * A child writing 64 KiB blocks to stdout as fast as the pipe takes them, with write(2) as a
 * server in any language does (it blocks while the pipe is full), and after each how many it
 * wrote, to stderr.
 */
function flooder() {
  const child = spawn(process.execPath, [
    "-e",
    `const fs = require("fs");
    const put = (fd, b) => {
      for (let off = 0; off < b.length; ) {
        try { off += fs.writeSync(fd, b, off); } catch (e) { if (e.code !== "EAGAIN") throw e; }
      }
    };
    const b = Buffer.alloc(65536, "x");
    for (let i = 1; ; i++) { put(1, b); put(2, Buffer.from(i + "\\n")); }`,
  ]) as ChildProcessWithoutNullStreams;
  children.push(child);
  const seen = { read: 0, written: 0 };
  child.stderr.setEncoding("utf8");
  child.stderr.on("data", (d: string) => {
    seen.written = Number(d.trim().split("\n").at(-1)) * 64 * KiB;
  });
  return { child, seen };
}

const children: ChildProcessWithoutNullStreams[] = [];
afterEach(() => {
  for (const c of children.splice(0)) c.kill("SIGKILL");
});

async function until(what: string, ok: () => boolean, ms = 20_000) {
  const deadline = performance.now() + ms;
  while (!ok()) {
    if (performance.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}

describe("throttle", () => {
  it("lets a burst through, then no more than the rate, and the writer blocks meanwhile", async () => {
    const rate = 512 * KiB;
    const burst = 128 * KiB;
    const { child, seen } = flooder();
    const over: string[] = [];
    const started = performance.now();
    child.stdout.on("data", (d: Buffer) => {
      seen.read += d.length;
      // A token bucket's bound; the excess allowed is what was in flight when it paused.
      const allowed = burst + (rate * (performance.now() - started)) / 1000 + 256 * KiB;
      if (seen.read > allowed) over.push(`${seen.read} read by ${Math.round(performance.now() - started)} ms`);
      // The pipe and the stream's buffer are all the writer may run ahead by.
      if (seen.written - seen.read > MiB) over.push(`${seen.written} written, ${seen.read} read`);
    });
    const dispose = throttle(child.stdout, rate, burst);
    await until("1 MiB to be read", () => seen.read >= MiB);
    dispose();
    expect(over).toEqual([]);
    // Load can only make it slower: 1 MiB sooner than this means it was not held to the rate.
    expect(performance.now() - started).toBeGreaterThan(((MiB - burst - 256 * KiB) / rate) * 1000);
  });

  it("lets the stream flow freely again once disposed", async () => {
    const { child, seen } = flooder();
    child.stdout.on("data", (d: Buffer) => {
      seen.read += d.length;
    });
    const dispose = throttle(child.stdout, 64 * KiB, 64 * KiB);
    await until("the throttle to pause the stream", () => child.stdout.isPaused());
    const before = seen.read;
    dispose();
    expect(child.stdout.isPaused()).toBe(false);
    // At 64 KiB/s this would take over four minutes; freed, a pipe moves it in well under a second.
    await until("16 MiB more to be read", () => seen.read >= before + 16 * MiB);
  });

  it("counts the bytes of decoded text, not its characters", async () => {
    const child = spawn(process.execPath, [
      "-e",
      // It stays alive after: Node resumes an exited child's stdout to drain it, unthrottled.
      `const s = "€".repeat(65536); for (let i = 0; i < 16; i++) process.stdout.write(s); setInterval(() => {}, 1000);`,
    ]) as ChildProcessWithoutNullStreams;
    children.push(child);
    child.stdout.setEncoding("utf8");
    let chars = 0;
    child.stdout.on("data", (d: string) => {
      chars += d.length;
    });
    const rate = 1 * MiB;
    const started = performance.now();
    const dispose = throttle(child.stdout, rate, 256 * KiB);
    await until("all the text to be read", () => chars === 16 * 65536);
    dispose();
    // 3 MiB of bytes (1 Mi characters of 3 bytes each) at 1 MiB/s after a 256 KiB burst.
    expect(performance.now() - started).toBeGreaterThan(((3 * MiB - 256 * KiB - 256 * KiB) / rate) * 1000);
  });

  it("counts each line's cost besides its bytes: many short messages take their time", async () => {
    const child = spawn(process.execPath, [
      "-e",
      // 40,000 lines of 10 bytes, 400 KB; it stays alive for the same reason as above.
      `process.stdout.write("123456789\\n".repeat(40000)); setInterval(() => {}, 1000);`,
    ]) as ChildProcessWithoutNullStreams;
    children.push(child);
    let lines = 0;
    child.stdout.on("data", (d: Buffer) => {
      for (const byte of d) if (byte === 10) lines++;
    });
    const cost = 64;
    const started = performance.now();
    const dispose = throttle(child.stdout, 1 * MiB, 256 * KiB, cost);
    await until("every line to be read", () => lines === 40_000);
    dispose();
    // Bytes alone would take 0.14 s. With each line's cost, 2.9 MiB: over 2 s at 1 MiB/s, the
    // burst and one pipe-full in flight (64 KiB of 10-byte lines and their cost) aside.
    const inFlight = 64 * KiB * (1 + cost / 10);
    expect(performance.now() - started).toBeGreaterThan(((40_000 * (10 + cost) - 256 * KiB - inFlight) / MiB) * 1000);
  });
});
