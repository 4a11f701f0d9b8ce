import { describe, expect, it } from "vitest";
import { answerLimits } from "./answer-limits";

const streamOf = (chunks: Uint8Array[]) =>
  new ReadableStream<Uint8Array>({
    start(c) {
      for (const chunk of chunks) c.enqueue(chunk);
      c.close();
    },
  });
const bytes = (n: number, fill = 120) => new Uint8Array(n).fill(fill);
const read = async (s: ReadableStream<Uint8Array>) => {
  const reader = s.getReader();
  let total = 0;
  for (let r = await reader.read(); !r.done; r = await reader.read()) total += r.value.length;
  return total;
};

describe("answerLimits", () => {
  it("holds a JSON answer to the message limit, newlines and all", async () => {
    const limit = answerLimits(1 << 30, 100);
    const lines = (n: number) => Array.from({ length: n }, () => Uint8Array.of(120, 10));
    expect(await read(limit(streamOf(lines(50)), "message"))).toBe(100);
    await expect(read(limit(streamOf(lines(51)), "message"))).rejects.toThrow(/over/);
  });

  it("holds each SSE event to the message limit, however many data lines it has, across chunks", async () => {
    const limit = answerLimits(1 << 30, 100);
    const text = (s: string) => new TextEncoder().encode(s);
    const event = (n: number, eol = "\n") => text(`${`data: ${"x".repeat(4)}${eol}`.repeat(n)}${eol}`);
    // 10-byte lines: nine a event fit in 100 bytes, however many events come.
    expect(await read(limit(streamOf([event(9), event(9), event(8, "\r\n")]), "events"))).toBe(298);
    await expect(read(limit(streamOf([event(9), event(11)]), "events"))).rejects.toThrow(/over/);
    const split = event(11);
    await expect(read(limit(streamOf([split.slice(0, 50), split.slice(50)]), "events"))).rejects.toThrow(/over/);
  });

  it("reads anything else (an error's body) for 64 KiB at most", async () => {
    const limit = answerLimits(1 << 30);
    expect(await read(limit(streamOf([bytes(64 * 1024)]), "other"))).toBe(64 * 1024);
    await expect(read(limit(streamOf([bytes(64 * 1024), bytes(1)]), "other"))).rejects.toThrow(/over/);
  });

  it("reads one sandbox's answers together at its rate, after a second's worth at once", async () => {
    const limit = answerLimits(100_000);
    const started = performance.now();
    const chunks = () => Array.from({ length: 10 }, () => Uint8Array.of(...bytes(9_999), 10));
    await Promise.all([read(limit(streamOf(chunks()), "events")), read(limit(streamOf(chunks()), "message"))]);
    // 200,000 bytes at 100,000 a second with 100,000 at once: about a second, not at once.
    expect(performance.now() - started).toBeGreaterThan(800);
  });

  it("counts each message's cost besides its bytes: a flood of small events takes its time", async () => {
    const text = new TextEncoder().encode('data: {"jsonrpc":"2.0","method":"x"}\n\n'.repeat(100));
    const started = performance.now();
    // 100 events of 39 bytes each cost 1,000 more: 103,900 at 100,000 a second with 100,000 at once.
    await read(answerLimits(100_000, 1 << 20, 1000)(streamOf([text, text]), "events"));
    expect(performance.now() - started).toBeGreaterThan(1000);
    // A JSON answer is one message.
    const json = answerLimits(100_000, 1 << 20, 50_000);
    const first = performance.now();
    await Promise.all([1, 2, 3].map(() => read(json(streamOf([bytes(10)]), "message"))));
    expect(performance.now() - first).toBeGreaterThan(400);
  });
});
