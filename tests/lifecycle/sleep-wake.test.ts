import { Client } from "@modelcontextprotocol/sdk/client/index.js";
import { StreamableHTTPClientTransport } from "@modelcontextprotocol/sdk/client/streamableHttp.js";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { FakeE2B } from "../fakes/e2b-server";
import { api, type BerthServer, startBerth } from "../support/berth-server";
import { expectUniformTimeline } from "../support/timeline";
import { until } from "../support/until";

/**
 * Idle sleep (BERTH_IDLE_SLEEP_SECONDS): a keep-alive connection whose endpoint had no request
 * for that long is put to sleep, and the next request wakes it and is answered. Real Berth, real
 * servers from npm, real MCP clients; locally in bubblewrap, and on E2B through the real SDK
 * against the fake, whose pause stops the sandbox's processes (SIGSTOP) and whose resume lets them
 * go on, as E2B's memory snapshot does.
 */

type Account = { account_id: string; api_key: string };
type Conn = {
  id: string;
  status: string;
  sandbox_id: string | null;
  mcp_url: string;
  keep_alive: boolean;
  timeout: number;
};
type Event = { type: string; data: Record<string, unknown> };

const IDLE_SECONDS = 2;
const ENV = { BERTH_IDLE_SLEEP_SECONDS: String(IDLE_SECONDS), BERTH_MAINTENANCE_INTERVAL_MS: "200" };

async function client(conn: Conn, key: string) {
  const c = new Client({ name: "sleep-wake", version: "1" });
  await c.connect(
    new StreamableHTTPClientTransport(new URL(conn.mcp_url), {
      requestInit: { headers: { authorization: `Bearer ${key}` } },
    }),
  );
  return c;
}

type Entity = { name: string; entityType: string; observations: string[] };
const entity = (name: string): Entity => ({ name, entityType: "test", observations: [] });

async function graphNames(c: Client) {
  const res = (await c.callTool({ name: "read_graph", arguments: {} })) as { content: { text: string }[] };
  return (JSON.parse(res.content[0]?.text ?? "") as { entities: Entity[] }).entities.map((e) => e.name);
}

function suite(name: string, e2b: boolean, setup: () => Promise<{ berth: BerthServer; fake?: FakeE2B }>) {
  describe(name, () => {
    let berth: BerthServer;
    let fake: FakeE2B | undefined;
    let account: Account;
    let call: ReturnType<typeof api>;

    beforeAll(async () => {
      ({ berth, fake } = await setup());
      account = (await berth.cli(["accounts", "create", "--name", "Sleepy"])) as Account;
      call = api(berth.url, account.api_key);
    }, 120_000);
    afterAll(async () => {
      await berth?.stop();
      await fake?.close();
    });

    const install = async (body: object = {}) => {
      const res = await call("POST", "/api/mcp-connections/install", {
        account_id: account.account_id,
        server_id: "memory",
        ...body,
      });
      expect(res.body.data?.status, res.text).toBe("running");
      return res.body.data as Conn;
    };
    const get = async (id: string) => (await call("GET", `/api/mcp-connections/${id}`)).body.data as Conn;
    const events = async (id: string) => (await call("GET", `/api/mcp-connections/${id}/events`)).body.data as Event[];
    const asleep = (id: string) =>
      until(`${id} asleep`, async () => ((await get(id)).status === "sleeping" ? true : undefined), 30_000);

    it("sleeps when idle and wakes for the next request, with what the server stored before", async () => {
      const conn = await install();
      const a = await client(conn, account.api_key);
      await a.callTool({ name: "create_entities", arguments: { entities: [entity("before-sleep")] } });
      const awake = conn.sandbox_id as string;

      await asleep(conn.id);
      const sleeping = await get(conn.id);
      if (fake) {
        // Paused, not killed: the row names it, for the wake to resume.
        expect(sleeping.sandbox_id).toBe(awake);
        expect(fake.pausedSandboxIds()).toContain(awake);
        expect(fake.sandboxIds()).not.toContain(awake);
      } else {
        expect(sleeping.sandbox_id).toBeNull();
      }

      expect(await graphNames(a), "what the server stored before it slept").toEqual(["before-sleep"]);
      const woken = await get(conn.id);
      expect(woken.status).toBe("running");
      if (fake) {
        expect(woken.sandbox_id, "the same sandbox, resumed").toBe(awake);
        expect(fake.calls.filter((c) => c.method === "resume" && c.sandboxId === awake)).toHaveLength(1);
        // Resumed with the connection's own timeout, not E2B's default of five minutes.
        const endAt = fake.sandbox(awake)?.endAt.getTime() ?? 0;
        expect(endAt - Date.now()).toBeGreaterThan((woken.timeout - 60) * 1000);
      }
      const timeline = await events(conn.id);
      expectUniformTimeline(timeline);
      const types = timeline.map((e) => e.type).reverse();
      const slept = types.indexOf("slept");
      expect(types.slice(slept, slept + 4), JSON.stringify(types)).toEqual(["slept", "woke", "deploying", "running"]);
      expect(timeline.find((e) => e.type === "slept")?.data.idle_seconds).toBe(IDLE_SECONDS);
      expect(timeline.find((e) => e.type === "woke")?.data).toEqual({ by: "api_key", paused: Boolean(fake) });
      await a.close();
    }, 120_000);

    it("answers every one of many concurrent requests of two clients during the wake, each once", async () => {
      const res = await call("POST", "/api/mcp-connections/install", {
        account_id: account.account_id,
        server_id: "everything",
      });
      expect(res.body.data?.status, res.text).toBe("running");
      const conn = res.body.data as Conn;
      const a = await client(conn, account.api_key);
      await asleep(conn.id);
      const before = (await events(conn.id)).filter((e) => e.type === "tool_call").length;

      // The first client's session and a new client's (whose initialize is the wake), 16 calls at once.
      const b = await client(conn, account.api_key);
      const messages = Array.from({ length: 16 }, (_, i) => `call-${i}`);
      const answers = await Promise.all(
        messages.map((message, i) => (i % 2 ? a : b).callTool({ name: "echo", arguments: { message } })),
      );
      for (const [i, answer] of answers.entries()) expect(JSON.stringify(answer)).toContain(`Echo: ${messages[i]}`);
      // Tool-call events are written once a second: every call is there, then none more.
      const recorded = async () => (await events(conn.id)).filter((e) => e.type === "tool_call").length - before;
      await until("the calls' events", async () => ((await recorded()) >= messages.length ? true : undefined));
      await new Promise((r) => setTimeout(r, 1500));
      expect(await recorded(), "each call reached the server once").toBe(messages.length);
      expect((await events(conn.id)).filter((e) => e.type === "woke")).toHaveLength(1);
      await a.close();
      await b.close();
    }, 120_000);

    it("does not sleep with a call in flight longer than the idle time", async () => {
      const res = await call("POST", "/api/mcp-connections/install", {
        account_id: account.account_id,
        server_id: "everything",
      });
      expect(res.body.data?.status, res.text).toBe("running");
      const conn = res.body.data as Conn;
      const c = await client(conn, account.api_key);
      const long = await c.callTool(
        { name: "trigger-long-running-operation", arguments: { duration: IDLE_SECONDS * 3, steps: 2 } },
        undefined,
        { timeout: 60_000 },
      );
      expect(JSON.stringify(long)).toMatch(/completed/i);
      const timeline = await events(conn.id);
      expect(timeline.map((e) => e.type)).not.toContain("slept");
      await c.close();
      await asleep(conn.id); // and once idle, it does
    }, 120_000);

    // Only E2B pauses; a local sandbox is always stopped, as the first test shows.
    if (e2b)
      it("stops the sandbox where E2B refuses to pause it, and the wake makes a new one", async () => {
        // Alone: another connection falling asleep would meet the refusal first.
        const others = (await call("GET", `/api/mcp-connections?account_id=${account.account_id}`)).body.data as Conn[];
        for (const o of others) await call("DELETE", `/api/mcp-connections/${o.id}`);
        fake?.failNext("POST sandboxes/:id/pause", 403, 1, "Pausing is not available on your plan");
        const conn = await install();
        await asleep(conn.id);
        expect((await get(conn.id)).sandbox_id).toBeNull();
        await until("the refused sandbox killed", () =>
          fake?.sandboxIds().includes(conn.sandbox_id as string) ? undefined : true,
        );
        expect(fake?.pausedSandboxIds()).not.toContain(conn.sandbox_id);
        const c = await client(conn, account.api_key);
        expect(await graphNames(c)).toEqual([]);
        const woken = await get(conn.id);
        expect(woken.status).toBe("running");
        expect(woken.sandbox_id).not.toBe(conn.sandbox_id);
        const woke = (await events(conn.id)).find((e) => e.type === "woke");
        expect(woke?.data.paused).toBe(false);
        await c.close();
      }, 120_000);

    it("leaves a connection without keep-alive to expire, and deletes a sleeping one with its sandbox", async () => {
      const unkept = await install({ keep_alive: false, timeout: 600 });
      const kept = await install();
      await asleep(kept.id);
      expect((await get(unkept.id)).status).toBe("running");
      const sleptSandbox = (await get(kept.id)).sandbox_id;
      const res = await call("DELETE", `/api/mcp-connections/${kept.id}`);
      expect(res.status, res.text).toBe(200);
      expect((await call("GET", `/api/mcp-connections/${kept.id}`)).status).toBe(404);
      if (fake && sleptSandbox) expect(fake.pausedSandboxIds()).not.toContain(sleptSandbox);
      // A request to the deleted one wakes nothing.
      const c = await client(kept, account.api_key).catch((err) => err as Error);
      expect(c).toBeInstanceOf(Error);
    }, 120_000);
  });
}

suite("idle sleep, local sandboxes", false, async () => ({ berth: await startBerth(ENV) }));

const support = FakeE2B.supported();
if (!support.ok) console.log(`[sleep-wake e2b] skipped: ${support.reason}`);
if (support.ok) {
  suite("idle sleep, E2B (pause and resume)", true, async () => {
    const fake = await FakeE2B.start();
    return { fake, berth: await startBerth({ ...ENV, ...fake.berthEnv() }) };
  });
}
