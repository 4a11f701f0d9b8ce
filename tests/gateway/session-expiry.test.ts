import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { api, type BerthServer, mcpInitialize, startBerth } from "../support/berth-server";

type Account = { account_id: string; api_key: string };
const HEADERS = { accept: "application/json, text/event-stream", "mcp-protocol-version": "2025-06-18" };
const LIST = { jsonrpc: "2.0", id: 2, method: "tools/list" };

/**
 * Client sessions a client has left end after BERTH_MCP_SESSION_IDLE_SECONDS. The gateway's own
 * bookkeeping, the same whatever the sandbox provider, so one provider (local) is enough here.
 */
describe("MCP sessions left idle", () => {
  let berth: BerthServer;
  let call: ReturnType<typeof api>;
  let account: Account;
  let connId: string;

  beforeAll(async () => {
    berth = await startBerth({ BERTH_MCP_SESSION_IDLE_SECONDS: "1" });
    account = (await berth.cli(["accounts", "create", "--name", "Idle"])) as Account;
    call = api(berth.url, account.api_key);
    const conn = await call("POST", "/api/mcp-connections/install", {
      account_id: account.account_id,
      server_id: "memory",
    });
    connId = conn.body.data.id;
  });
  afterAll(async () => {
    await berth?.stop();
  });

  const session = async () => (await mcpInitialize(call, connId)).headers.get("mcp-session-id") as string;
  const list = (sid: string) => call("POST", `/api/mcp/${connId}`, LIST, { ...HEADERS, "mcp-session-id": sid });
  const idle = () => new Promise((r) => setTimeout(r, 2500));

  it("ends a session nobody uses, and keeps one whose client listens on its GET stream", async () => {
    const [left, listening] = [await session(), await session()];
    const stream = new AbortController();
    const get = await fetch(`${berth.url}/api/mcp/${connId}`, {
      signal: stream.signal,
      headers: {
        authorization: `Bearer ${account.api_key}`,
        accept: "text/event-stream",
        "mcp-session-id": listening,
      },
    });
    expect(get.status).toBe(200);
    expect((await list(left)).status).toBe(200);

    await idle();
    const gone = await list(left);
    expect(gone.status).toBe(404);
    expect(gone.body.error.message).toMatch(/initialize a new one/);
    expect((await list(listening)).status).toBe(200);

    stream.abort(); // the listening client goes away too
    await idle();
    expect((await list(listening)).status).toBe(404);
  });
});
