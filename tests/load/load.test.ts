import fs from "node:fs";
import { Client } from "@modelcontextprotocol/sdk/client/index.js";
import { StreamableHTTPClientTransport } from "@modelcontextprotocol/sdk/client/streamableHttp.js";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { api, type BerthServer, startBerth } from "../support/berth-server";
import { createPostgresDatabase } from "../support/databases";
import { until } from "../support/until";

/**
 * Load, on PGlite and PostgreSQL: 50 installs at once (five accounts of ten, as tenants would
 * come), then three rounds of 200 concurrent tool calls across 20 connections through the MCP
 * endpoint. Zero errors; nothing lost, doubled or crossed (each call is answered with what it
 * created, and the audit log holds each call once); Berth's memory does not keep growing from
 * round to round. Timings and RSS are printed, not asserted (they belong to benches).
 *
 * Not checked: that each graph holds every entity. The memory server itself reads, changes and
 * writes its file per call, so concurrent calls lose each other's writes (30 at once over plain
 * stdio, no Berth: 1 entity kept).
 */
const ACCOUNTS = 5;
const INSTALLS_EACH = 10;
const CONNECTIONS = 20;
const CALLS = 200;
const ROUNDS = 3;

type Account = { account_id: string; api_key: string };
type Conn = { id: string; mcp_url: string; account: Account };

const rssMiB = (pid: number) => {
  const status = fs.readFileSync(`/proc/${pid}/status`, "utf8");
  return Math.round(Number(/VmRSS:\s+(\d+)/.exec(status)?.[1]) / 1024);
};

describe.each(["pglite", "postgres"] as const)("load on %s", (kind) => {
  let berth: BerthServer;
  let dropDb: (() => Promise<void>) | undefined;
  const accounts: Account[] = [];
  const conns: Conn[] = [];
  const clients: Client[] = [];

  beforeAll(async () => {
    const env: Record<string, string> = { BERTH_API_REQUESTS_PER_SECOND: "1000" };
    if (kind === "postgres") {
      const db = await createPostgresDatabase();
      dropDb = db.drop;
      env.DATABASE_URL = db.url;
      env.BERTH_ENCRYPTION_KEYS = `k1:${Buffer.alloc(32, 9).toString("base64")}`;
    }
    berth = await startBerth(env);
    for (let i = 0; i < ACCOUNTS; i++) {
      accounts.push((await berth.cli(["accounts", "create", "--name", `Load ${i}`])) as Account);
    }
  });
  afterAll(async () => {
    await Promise.all(clients.map((c) => c.close().catch(() => {})));
    await berth?.stop();
    await dropDb?.();
  });

  it(`${ACCOUNTS * INSTALLS_EACH} installs at once all run`, async () => {
    const idle = rssMiB(berth.proc.pid as number);
    const started = performance.now();
    const answers = await Promise.all(
      accounts.flatMap((account) =>
        Array.from({ length: INSTALLS_EACH }, async (_, i) => {
          const res = await api(berth.url, account.api_key)("POST", "/api/mcp-connections/install", {
            account_id: account.account_id,
            server_id: "memory",
            name: `load ${i}`,
          });
          return { res, account };
        }),
      ),
    );
    const refused = answers.filter(({ res }) => res.status !== 201).map(({ res }) => JSON.stringify(res.body));
    expect(refused).toEqual([]);
    for (const { res, account } of answers) conns.push({ ...res.body.data, account });
    // Answered once running, or still deploying after a short wait: all end running, none failed.
    const statuses = await until(
      "every connection to run",
      async () => {
        const all = await Promise.all(
          conns.map(
            async (c) => (await api(berth.url, c.account.api_key)("GET", `/api/mcp-connections/${c.id}`)).body.data,
          ),
        );
        if (all.some((c) => c.status === "deploying")) return undefined;
        return all.map((c) => `${c.status}${c.last_error ? `: ${c.last_error}` : ""}`);
      },
      180_000,
    );
    expect(statuses.filter((s) => s !== "running")).toEqual([]);
    // Each account lists exactly its ten, each once.
    for (const account of accounts) {
      const list = await api(berth.url, account.api_key)(
        "GET",
        `/api/mcp-connections?account_id=${account.account_id}`,
      );
      expect(list.body.data.length).toBe(INSTALLS_EACH);
    }
    console.log(
      `${kind}: ${conns.length} installs at once, all running after ${Math.round(performance.now() - started)} ms; ` +
        `Berth's RSS ${idle} MiB before, ${rssMiB(berth.proc.pid as number)} MiB after`,
    );
  }, 300_000);

  it(`${ROUNDS} rounds of ${CALLS} concurrent tool calls across ${CONNECTIONS} connections: no error, nothing lost or doubled, memory flat`, async () => {
    const used = conns.slice(0, CONNECTIONS);
    expect(used.length).toBe(CONNECTIONS);
    for (const c of used) {
      const client = new Client({ name: "load", version: "1" });
      await client.connect(
        new StreamableHTTPClientTransport(new URL(c.mcp_url), {
          requestInit: { headers: { authorization: `Bearer ${c.account.api_key}` } },
        }),
      );
      clients.push(client);
    }
    const pid = berth.proc.pid as number;
    const rss: number[] = [rssMiB(pid)];
    const errors: string[] = [];
    for (let round = 0; round < ROUNDS; round++) {
      const started = performance.now();
      await Promise.all(
        Array.from({ length: CALLS }, async (_, i) => {
          const client = clients[i % CONNECTIONS] as Client;
          try {
            const result = await client.callTool({
              name: "create_entities",
              arguments: { entities: [{ name: `r${round}-c${i}`, entityType: "call", observations: [] }] },
            });
            const text = (result.content as { text?: string }[])[0]?.text ?? "";
            // Answered with its own entity, not another call's.
            if (result.isError || !text.includes(`"r${round}-c${i}"`)) errors.push(`r${round}-c${i}: ${text}`);
          } catch (err) {
            errors.push(String(err));
          }
        }),
      );
      rss.push(rssMiB(pid));
      console.log(`${kind}: round ${round + 1}: ${CALLS} calls in ${Math.round(performance.now() - started)} ms`);
    }
    expect(errors).toEqual([]);
    const perConnection = (CALLS / CONNECTIONS) * ROUNDS;
    // The audit log has each call once: written in batches, so waited for.
    for (const c of used) {
      const calls = await until(
        "the audit log to hold every call",
        async () => {
          const res = await api(berth.url, c.account.api_key)("GET", `/api/mcp-connections/${c.id}`);
          const n = res.body.data.tool_calls.count;
          return n >= perConnection ? n : undefined;
        },
        20_000,
      );
      expect(calls).toBe(perConnection);
    }
    console.log(`${kind}: Berth's RSS (MiB) before the calls and after each round: ${rss.join(", ")}`);
    // Warm-up may grow it; later rounds may not keep adding (a leak per call or per round would).
    expect((rss[ROUNDS] as number) - (rss[1] as number), `RSS by round: ${rss.join(", ")}`).toBeLessThan(64);
  }, 300_000);
});
