import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { api, type BerthServer, startBerth } from "../support/berth-server";

type Account = { account_id: string; api_key: string };
const HEADERS = { accept: "application/json, text/event-stream", "mcp-protocol-version": "2025-06-18" };
const LIST = { jsonrpc: "2.0", id: 2, method: "tools/list" };
// What a hostile client sends to make Berth hold memory per session: a 1 MiB capabilities object.
const BIG_CAPABILITIES = { sampling: {}, experimental: { ballast: { data: "x".repeat(1024 * 1024) } } };

/**
 * MCP sessions are capped per connection and per account (BERTH_MCP_MAX_SESSIONS_*): a new
 * session ends the least recently used idle one, and is refused (429) while none is idle. The
 * gateway's own bookkeeping, the same whatever the sandbox provider, so local is enough here.
 */
describe("MCP session limits", () => {
  let berth: BerthServer;
  let call: ReturnType<typeof api>;
  let account: Account;
  let connA: string;
  let connB: string;
  const streams: AbortController[] = [];
  // Referenced until the end: undici closes the connection of a response collected unread.
  const responses: Response[] = [];

  beforeAll(async () => {
    berth = await startBerth({ BERTH_MCP_MAX_SESSIONS_PER_CONNECTION: "3", BERTH_MCP_MAX_SESSIONS_PER_ACCOUNT: "4" });
    account = (await berth.cli(["accounts", "create", "--name", "Limits"])) as Account;
    call = api(berth.url, account.api_key);
    const install = () =>
      call("POST", "/api/mcp-connections/install", { account_id: account.account_id, server_id: "memory" });
    connA = (await install()).body.data.id;
    connB = (await install()).body.data.id;
  });
  afterAll(async () => {
    for (const s of streams) s.abort();
    await berth?.stop();
  });

  const initialize = (conn: string) =>
    call(
      "POST",
      `/api/mcp/${conn}`,
      {
        jsonrpc: "2.0",
        id: 1,
        method: "initialize",
        params: {
          protocolVersion: "2025-06-18",
          capabilities: BIG_CAPABILITIES,
          clientInfo: { name: "t", version: "1" },
        },
      },
      { accept: HEADERS.accept },
    );
  const session = async (conn: string) => {
    const res = await initialize(conn);
    expect(res.status).toBe(200);
    return res.headers.get("mcp-session-id") as string;
  };
  const list = async (conn: string, sid: string) =>
    (await call("POST", `/api/mcp/${conn}`, LIST, { ...HEADERS, "mcp-session-id": sid })).status;
  /** Holds the session's GET stream open: the session is then busy, never evicted. */
  const listen = async (conn: string, sid: string) => {
    const stream = new AbortController();
    streams.push(stream);
    const res = await fetch(`${berth.url}/api/mcp/${conn}`, {
      signal: stream.signal,
      headers: { authorization: `Bearer ${account.api_key}`, accept: "text/event-stream", "mcp-session-id": sid },
    });
    expect(res.status).toBe(200);
    responses.push(res);
    return stream;
  };

  it("caps a connection's sessions: ends the least recently used idle one, else answers 429", async () => {
    const [s1, s2, s3] = [await session(connA), await session(connA), await session(connA)];
    expect(await list(connA, s1)).toBe(200); // s1 is used again: s2 is now the least recent

    const s4 = await session(connA);
    expect(await list(connA, s2)).toBe(404);
    for (const sid of [s1, s3, s4]) expect(await list(connA, sid)).toBe(200);

    // Every session busy (its client listening on its GET stream): none is taken from its client.
    const listening = [await listen(connA, s1), await listen(connA, s3), await listen(connA, s4)];
    const refused = await initialize(connA);
    expect(refused.status).toBe(429);
    expect(refused.body.error.code).toBe("too_many_requests");
    expect(refused.body.error.message).toMatch(/This connection has as many MCP sessions/);
    expect(Number(refused.headers.get("retry-after"))).toBeGreaterThan(0);
    for (const sid of [s1, s3, s4]) expect(await list(connA, sid)).toBe(200);

    // One client leaves: its session is the one that makes room.
    listening[0]?.abort();
    let next = await initialize(connA);
    for (let i = 0; next.status === 429 && i < 50; i++) {
      await new Promise((r) => setTimeout(r, 100)); // until Berth has seen the stream close
      next = await initialize(connA);
    }
    expect(next.status).toBe(200);
    expect(await list(connA, s1)).toBe(404);
    for (const sid of [s3, s4]) expect(await list(connA, sid)).toBe(200);
    await listen(connA, next.headers.get("mcp-session-id") as string); // all three busy again
  });

  it("caps an account's sessions across its connections", async () => {
    // Connection A holds 3 busy sessions (previous test); the account may have 4 in all.
    const b1 = await session(connB);
    const b2 = await session(connB); // the account is full: b1, its only idle session, ends
    expect(await list(connB, b1)).toBe(404);
    expect(await list(connB, b2)).toBe(200);

    await listen(connB, b2);
    const refused = await initialize(connB); // B has 1 of its 3, but the account has 4 of 4
    expect(refused.status).toBe(429);
    expect(refused.headers.get("retry-after")).toBeTruthy();
    expect(refused.body.error.message).toMatch(/This account has as many MCP sessions/);
    expect(await list(connB, b2)).toBe(200);
  });
});
