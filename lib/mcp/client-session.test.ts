import http from "node:http";
import type { AddressInfo } from "node:net";
import { afterEach, describe, expect, it } from "vitest";
import { ClientSession } from "./client-session";

let server: http.Server | undefined;
afterEach(async () => {
  await new Promise((resolve) => (server ? server.close(resolve) : resolve(undefined)));
  server = undefined;
});

/** Opens the session's GET stream over real HTTP with Last-Event-ID 0 and reads what it replays. */
async function replayed(session: ClientSession): Promise<string> {
  server = http.createServer((_req, res) => {
    session.openStandalone(res, 0);
    res.end(); // replay written; close so the client reads to the end
  });
  await new Promise<void>((resolve) => server?.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as AddressInfo;
  return (await fetch(`http://127.0.0.1:${port}/`, { headers: { accept: "text/event-stream" } })).text();
}

const note = (i: number, size: number) => ({
  jsonrpc: "2.0" as const,
  method: "notifications/message",
  params: { level: "info", data: `${i}:${"x".repeat(size)}` },
});

describe("ClientSession replay", () => {
  it("keeps at most 1 MiB of events for replay, dropping the oldest", async () => {
    const session = new ClientSession("account", "connection");
    // No stream open: each event is kept for a client that comes back with Last-Event-ID.
    for (let i = 1; i <= 8; i++) session.deliver(note(i, 300 * 1024));
    const text = await replayed(session);
    const ids = [...text.matchAll(/^id: (\d+)$/gm)].map((m) => Number(m[1]));
    expect(ids).toEqual([6, 7, 8]); // three of 300 KiB fit in 1 MiB, a fourth would not
    expect(text.length).toBeLessThanOrEqual(1024 * 1024);
  });

  it("still keeps the last 500 small events", async () => {
    const session = new ClientSession("account", "connection");
    for (let i = 1; i <= 600; i++) session.deliver(note(i, 10));
    const ids = [...(await replayed(session)).matchAll(/^id: (\d+)$/gm)].map((m) => Number(m[1]));
    expect(ids).toHaveLength(500);
    expect(ids[0]).toBe(101);
    expect(ids.at(-1)).toBe(600);
  });
});
