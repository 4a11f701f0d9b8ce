import { Client } from "@modelcontextprotocol/sdk/client/index.js";
import { StreamableHTTPClientTransport } from "@modelcontextprotocol/sdk/client/streamableHttp.js";
import fc from "fast-check";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { accountWithMemory, api, type BerthServer, mcpInitialize, startBerth } from "../support/berth-server";
import { anyJson, oddString } from "./arbitraries";

/**
 * The MCP endpoint fuzzed with JSON-RPC: odd and malformed messages, batches, huge and odd ids,
 * unknown methods, wrong headers, on a live session and without one. Berth never answers 5xx or a
 * stack trace, never hangs, and neither Berth nor the upstream session breaks: a real client on the
 * same connection is answered throughout, and the server never restarts. BERTH_FUZZ_RUNS sets the
 * cases (1,000 by default).
 */
const RUNS = Number(process.env.BERTH_FUZZ_RUNS ?? 1000);
const STACK = /\n\s+at |node_modules|\.tsx?:\d+|\/work\/|webpack|TypeError|ReferenceError/;
const ANSWER_MS = 15_000;

type Account = { account_id: string; api_key: string };

const METHODS = [
  "initialize",
  "ping",
  "tools/list",
  "tools/call",
  "resources/list",
  "resources/read",
  "resources/subscribe",
  "resources/unsubscribe",
  "prompts/list",
  "prompts/get",
  "logging/setLevel",
  "completion/complete",
  "notifications/initialized",
  "notifications/cancelled",
  "notifications/progress",
  "sampling/createMessage",
];

const id = fc.oneof(
  fc.integer(),
  fc.constantFrom(0, -1, 2 ** 53 + 1, 1e308, Number.MAX_SAFE_INTEGER, 0.5),
  oddString,
  fc.constantFrom(null, true, [], {}, "x".repeat(100_000)),
);
const method = fc.oneof({ weight: 3, arbitrary: fc.constantFrom(...METHODS) }, { weight: 1, arbitrary: oddString });
const params = fc.oneof(
  fc.constant(undefined),
  fc.record(
    { name: fc.oneof(fc.constantFrom("read_graph", "create_entities"), oddString), arguments: anyJson },
    { requiredKeys: [] },
  ),
  fc.record(
    { _meta: fc.record({ progressToken: id }), uri: oddString, level: oddString, requestId: id },
    { requiredKeys: [] },
  ),
  anyJson,
);
/** One JSON-RPC-ish message: a request, a notification, a response to nothing, or anything at all. */
const message = fc.oneof(
  {
    weight: 4,
    arbitrary: fc.record(
      { jsonrpc: fc.constantFrom("2.0", "2.0", "1.0", 2), id, method, params },
      { requiredKeys: ["jsonrpc", "id", "method"] },
    ),
  },
  {
    weight: 2,
    arbitrary: fc.record({ jsonrpc: fc.constant("2.0"), method, params }, { requiredKeys: ["jsonrpc", "method"] }),
  },
  {
    weight: 1,
    arbitrary: fc.record(
      { jsonrpc: fc.constant("2.0"), id, result: anyJson, error: anyJson },
      { requiredKeys: ["jsonrpc", "id"] },
    ),
  },
  { weight: 1, arbitrary: anyJson },
);
const bodyText = fc.oneof(
  { weight: 6, arbitrary: message.map((m) => JSON.stringify(m) ?? "null") },
  { weight: 2, arbitrary: fc.array(message, { maxLength: 20 }).map((b) => JSON.stringify(b)) },
  {
    weight: 1,
    arbitrary: fc.oneof(
      fc.string({ unit: "binary", maxLength: 200 }),
      fc.constantFrom("", "{", "[", "[]", "[[]]", '{"jsonrpc":"2.0"', "\u0000", "null", "1e99999"),
    ),
  },
);

describe("fuzzing the MCP endpoint with JSON-RPC", () => {
  let berth: BerthServer;
  let owner: Account;
  let connection: string;
  let mcpUrl: string;
  let session: string;
  let client: Client;

  beforeAll(async () => {
    berth = await startBerth({ BERTH_API_REQUESTS_PER_SECOND: "1000000" });
    const fixture = await accountWithMemory(berth, "Fuzzed MCP");
    owner = fixture.account;
    connection = fixture.connection.id;
    mcpUrl = fixture.connection.mcp_url;
    const init = await mcpInitialize(api(berth.url, owner.api_key), connection);
    session = init.headers.get("mcp-session-id") as string;
    expect(session).toBeTruthy();
    client = new Client({ name: "bystander", version: "1" });
    await client.connect(
      new StreamableHTTPClientTransport(new URL(mcpUrl), {
        requestInit: { headers: { authorization: `Bearer ${owner.api_key}` } },
      }),
    );
  });
  afterAll(async () => {
    await client?.close();
    await berth?.stop();
  });

  it(`${RUNS} cases: no 5xx, no stack trace, no hang, the session and the server stay whole`, async () => {
    const seen = new Map<number, number>();
    const sandboxBefore = (await api(berth.url, owner.api_key)("GET", `/api/mcp-connections/${connection}`)).body.data
      .sandbox_id;
    await fc.assert(
      fc.asyncProperty(
        bodyText,
        fc.oneof(
          { weight: 8, arbitrary: fc.constant("live") },
          { weight: 1, arbitrary: fc.constantFrom("none", "unknown", "odd") },
        ),
        fc.oneof(
          { weight: 8, arbitrary: fc.constant("application/json, text/event-stream") },
          { weight: 1, arbitrary: fc.constantFrom("application/json", "text/event-stream", "*/*", undefined) },
        ),
        fc.constantFrom(undefined, "2025-06-18", "2025-03-26", "2099-01-01", "\u0000"),
        async (text, sessionKind, accept, version) => {
          const headers: Record<string, string> = {
            authorization: `Bearer ${owner.api_key}`,
            "content-type": "application/json",
          };
          if (accept) headers.accept = accept;
          if (version && version !== "\u0000") headers["mcp-protocol-version"] = version;
          if (sessionKind === "live") headers["mcp-session-id"] = session;
          if (sessionKind === "unknown") headers["mcp-session-id"] = crypto.randomUUID();
          if (sessionKind === "odd") headers["mcp-session-id"] = "../x";
          const res = await fetch(mcpUrl, {
            method: "POST",
            headers,
            body: text,
            signal: AbortSignal.timeout(ANSWER_MS),
          });
          const answer = await res.text();
          seen.set(res.status, (seen.get(res.status) ?? 0) + 1);
          const what = `${res.status} ${answer.slice(0, 200)} ← ${sessionKind} session, accept ${accept}: ${text.slice(0, 300)}`;
          expect(res.status, what).toBeLessThan(500);
          expect(answer, `a stack trace or internal detail: ${what}`).not.toMatch(STACK);
        },
      ),
      { numRuns: RUNS, endOnFailure: false },
    );
    console.log(`MCP endpoint: ${RUNS} cases, statuses ${JSON.stringify(Object.fromEntries([...seen].sort()))}`);
    // The bystander's session and the upstream session are whole; the server never restarted.
    const result = await client.callTool({ name: "read_graph", arguments: {} });
    expect(result.isError).toBeFalsy();
    const after = (await api(berth.url, owner.api_key)("GET", `/api/mcp-connections/${connection}`)).body.data;
    expect(after.status).toBe("running");
    expect(after.sandbox_id).toBe(sandboxBefore);
    const events = (await api(berth.url, owner.api_key)("GET", `/api/mcp-connections/${connection}/events`)).body.data;
    expect(events.map((e: { type: string }) => e.type)).not.toContain("crashed");
  }, 900_000);
});
