import { Client } from "@modelcontextprotocol/sdk/client/index.js";
import { StreamableHTTPClientTransport } from "@modelcontextprotocol/sdk/client/streamableHttp.js";
import { McpError, ToolListChangedNotificationSchema } from "@modelcontextprotocol/sdk/types.js";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { FakeE2B } from "../fakes/e2b-server";
import { PROVIDERS } from "../lifecycle/providers";
import { api, type BerthServer, startBerth } from "../support/berth-server";
import { createPostgresDatabase } from "../support/databases";
import { until } from "../support/until";

type Account = { account_id: string; api_key: string };
type Verdict = { name: string; exposed_name: string; visible: boolean; hidden_by: string | null; read_only: boolean };

/** A client of the MCP endpoint that counts the tools/list_changed notifications it gets. */
async function connect(url: string, key: string) {
  const client = new Client({ name: "tool-policy-test", version: "1" });
  const heard = { listChanged: 0 };
  client.setNotificationHandler(ToolListChangedNotificationSchema, async () => {
    heard.listChanged++;
  });
  await client.connect(
    new StreamableHTTPClientTransport(new URL(url), { requestInit: { headers: { authorization: `Bearer ${key}` } } }),
  );
  return { client, heard };
}

/** The JSON-RPC error code a tools/call got, or "answered" if it was answered. */
async function callError(client: Client, name: string) {
  try {
    await client.callTool({ name, arguments: { message: "x" } });
    return { code: "answered" as const, message: "" };
  } catch (err) {
    if (!(err instanceof McpError)) throw err;
    return { code: err.code, message: err.message.replace(name, "<name>") };
  }
}

const names = async (client: Client) => (await client.listTools()).tools.map((t) => t.name);

describe.each(PROVIDERS)("tool policy on $name", (provider) => {
  let berth: BerthServer;
  let account: Account;
  let call: ReturnType<typeof api>;
  const clients: Client[] = [];

  beforeAll(async () => {
    await provider.setup();
    berth = await startBerth(provider.env());
    account = (await berth.cli(["accounts", "create", "--name", "Policies"])) as Account;
    call = api(berth.url, account.api_key);
  });
  afterAll(async () => {
    await Promise.all(clients.map((c) => c.close().catch(() => {})));
    await berth?.stop();
    await provider.teardown();
  });

  const install = async () => {
    const res = await call("POST", "/api/mcp-connections/install", {
      account_id: account.account_id,
      server_id: "everything",
    });
    expect(res.body.data.status, res.text).toBe("running");
    return res.body.data as { id: string; mcp_url: string };
  };
  const agent = async (url: string) => {
    const c = await connect(url, account.api_key);
    clients.push(c.client);
    return c;
  };
  const setPolicy = (id: string, policy: object) => call("PUT", `/api/mcp-connections/${id}/tool-policy`, policy);

  it("hides, renames and redescribes tools for every client at once, and a hidden tool answers as an unknown one", async () => {
    const conn = await install();
    const { client, heard } = await agent(conn.mcp_url);
    const all = await names(client);
    expect(all).toEqual(expect.arrayContaining(["echo", "get-env", "get-sum"]));

    const res = await setPolicy(conn.id, {
      deny: ["get-env"],
      tools: { echo: { name: "say", description: "Says it back." } },
    });
    expect(res.status, res.text).toBe(200);
    const verdicts = res.body.data.tools as Verdict[];
    expect(verdicts.find((v) => v.name === "get-env")).toMatchObject({ visible: false, hidden_by: "deny" });
    expect(verdicts.find((v) => v.name === "echo")).toMatchObject({ visible: true, exposed_name: "say" });
    expect(verdicts.map((v) => v.name)).toEqual(all);

    await until("the client to hear its tool list changed", () => (heard.listChanged >= 1 ? true : undefined), 5000);
    const listed = (await client.listTools()).tools;
    expect(listed.map((t) => t.name)).toEqual(
      all.filter((n) => n !== "get-env").map((n) => (n === "echo" ? "say" : n)),
    );
    expect(listed.find((t) => t.name === "say")?.description).toBe("Says it back.");

    const said = await client.callTool({ name: "say", arguments: { message: "through the policy" } });
    expect(JSON.stringify(said.content)).toContain("through the policy");
    // Hidden, or known only by its old name: the answer a tool the server never had gets.
    const hidden = await callError(client, "get-env");
    expect(hidden.code).toBe(-32602);
    expect(await callError(client, "echo")).toEqual(hidden);
    expect(await callError(client, "no-such-tool")).toEqual(hidden);

    // A client that connects afterwards sees the same view; so does the inspector, which an API key also reaches.
    const late = await agent(conn.mcp_url);
    expect(await names(late.client)).toEqual(listed.map((t) => t.name));
    const inspected = await call("GET", `/api/mcp-connections/${conn.id}/tools`);
    expect(inspected.body.data.map((t: { name: string }) => t.name)).toEqual(listed.map((t) => t.name));
    const viaInspector = await call("POST", `/api/mcp-connections/${conn.id}/tools/call`, { name: "get-env" });
    expect(viaInspector.status).toBe(502);
    expect(viaInspector.body.error.details).toEqual({ jsonrpc_code: -32602 });
    expect(viaInspector.text).not.toMatch(/PATH=|HOME=/);

    // The call is audited under the server's own name; the change is on the timeline, with who made it.
    const events = (await call("GET", `/api/mcp-connections/${conn.id}/events`)).body.data as {
      type: string;
      data: Record<string, unknown>;
    }[];
    expect(events.find((e) => e.type === "tool_policy_changed")?.data).toMatchObject({ by: "api_key", denied: 1 });
    await until("the renamed call's audit event", async () => {
      const now = (await call("GET", `/api/mcp-connections/${conn.id}/events`)).body.data as typeof events;
      return now.some((e) => e.type === "tool_call" && e.data.tool === "echo") ? true : undefined;
    });

    // Lifted: every tool again, and clients are told.
    expect((await setPolicy(conn.id, {})).status).toBe(200);
    await until("the second list change", () => (heard.listChanged >= 2 ? true : undefined), 5000);
    expect(await names(client)).toEqual(all);
    expect((await call("GET", `/api/mcp-connections/${conn.id}/tool-policy`)).body.data.policy).toEqual({
      allow: null,
      deny: [],
      read_only: false,
      tools: {},
      approval_timeout_seconds: 55,
    });
  });

  it("offers only read-only tools under read_only, and keeps the policy across a restart", async () => {
    const conn = await install();
    expect(
      (await setPolicy(conn.id, { read_only: true, allow: ["echo", "get-sum", "trigger-sampling-request"] })).status,
    ).toBe(200);
    const { client } = await agent(conn.mcp_url);
    const listed = (await client.listTools()).tools;
    expect(listed.map((t) => t.name).sort()).toEqual(["echo", "get-sum"]);
    for (const t of listed) expect(t.annotations?.readOnlyHint).toBe(true);
    expect((await callError(client, "trigger-sampling-request")).code).toBe(-32602);

    const restarted = await call("POST", `/api/mcp-connections/${conn.id}/restart`);
    expect(restarted.status).toBe(202);
    await until("the restarted connection to run", async () =>
      (await call("GET", `/api/mcp-connections/${conn.id}`)).body.data.status === "running" ? true : undefined,
    );
    const after = await agent(conn.mcp_url);
    expect((await names(after.client)).sort()).toEqual(["echo", "get-sum"]);
  });

  it("holds a call that needs approval until an admin decides: approved it runs, rejected or unanswered it fails", async () => {
    const conn = await install();
    const policy = { tools: { "get-sum": { approval: true } }, approval_timeout_seconds: 5 };
    expect((await setPolicy(conn.id, policy)).status).toBe(200);
    // The agent holds a key for MCP endpoints only: it can neither lift the policy nor approve its own calls.
    const agentKey = await call("POST", "/api/api-keys", { name: "agent", scope: "mcp" });
    expect(agentKey.body.data.scope).toBe("mcp");
    const asAgent = api(berth.url, agentKey.body.data.key);
    const { client } = await connect(conn.mcp_url, agentKey.body.data.key);
    clients.push(client);
    expect((await asAgent("PUT", `/api/mcp-connections/${conn.id}/tool-policy`, {})).status).toBe(403);
    const pending = async () => {
      const res = await call("GET", `/api/tool-approvals?status=pending&connection_id=${conn.id}`);
      expect(res.status, res.text).toBe(200);
      return res.body.data as { id: string; tool: string; client: string; arguments: string; status: string }[];
    };
    const decide = async (verdict: "approve" | "reject") => {
      const waiting = await until("the call to wait for a decision", async () => {
        const list = await pending();
        return list[0];
      });
      expect(waiting).toMatchObject({ tool: "get-sum", client: "tool-policy-test", status: "pending" });
      expect(JSON.parse(waiting.arguments)).toEqual({ a: 20, b: 22 });
      const res = await call("POST", `/api/tool-approvals/${waiting.id}/${verdict}`);
      expect(res.status, res.text).toBe(200);
      return waiting.id;
    };
    const sum = () => client.callTool({ name: "get-sum", arguments: { a: 20, b: 22 } });

    const approvedCall = sum();
    const waitingNow = await until("the first call to wait", async () => (await pending())[0]);
    for (const verdict of ["approve", "reject"])
      expect((await asAgent("POST", `/api/tool-approvals/${waitingNow.id}/${verdict}`)).status).toBe(403);
    const approvedId = await decide("approve");
    const approved = await approvedCall;
    expect(approved.isError).toBeFalsy();
    expect(JSON.stringify(approved.content)).toContain("42");
    // Decided once: a second decision is refused and changes nothing.
    expect((await call("POST", `/api/tool-approvals/${approvedId}/reject`)).status).toBe(409);

    const rejectedCall = sum();
    await decide("reject");
    const rejected = await rejectedCall;
    expect(rejected.isError).toBe(true);
    expect(JSON.stringify(rejected.content)).toContain("rejected by an admin");

    const unanswered = await sum(); // nobody decides within the policy's 5 s
    expect(unanswered.isError).toBe(true);
    expect(JSON.stringify(unanswered.content)).toContain("not approved within 5 s");
    expect(await pending()).toEqual([]);

    // Tools without `approval` are not held; the inspector, for an API key, does not make the call at all.
    expect(JSON.stringify((await client.callTool({ name: "echo", arguments: { message: "free" } })).content)).toContain(
      "free",
    );
    const inspected = await call("POST", `/api/mcp-connections/${conn.id}/tools/call`, {
      name: "get-sum",
      arguments: { a: 1, b: 2 },
    });
    expect(inspected.status).toBe(200);
    expect(inspected.body.data).toMatchObject({ isError: true });
    expect(await pending()).toEqual([]);

    const events = (await call("GET", `/api/mcp-connections/${conn.id}/events`)).body.data as {
      type: string;
      data: Record<string, unknown>;
    }[];
    const outcomes = events.filter((e) => e.type === "tool_approval").map((e) => [e.data.outcome, e.data.by]);
    expect(outcomes).toEqual([
      ["expired", "system"],
      ["rejected", "api_key"],
      ["approved", "api_key"],
    ]);
  });

  it("never makes a waiting call its client cancelled, and tells a client that asked for progress that it waits", async () => {
    const res = await call("POST", "/api/mcp-connections/install", {
      account_id: account.account_id,
      server_id: "memory",
    });
    expect(res.body.data.status, res.text).toBe("running");
    const conn = res.body.data as { id: string; mcp_url: string };
    const gated = { tools: { create_entities: { approval: true } }, approval_timeout_seconds: 30 };
    expect((await setPolicy(conn.id, gated)).status).toBe(200);
    const { client } = await agent(conn.mcp_url);
    const waitingApproval = () =>
      until("a call to wait", async () => {
        const list = (await call("GET", `/api/tool-approvals?status=pending&connection_id=${conn.id}`)).body.data;
        return (list as { id: string }[])[0];
      });
    const entity = (name: string) => ({ entities: [{ name, entityType: "t", observations: [] }] });

    const controller = new AbortController();
    const cancelled = client.callTool({ name: "create_entities", arguments: entity("never") }, undefined, {
      signal: controller.signal,
    });
    const first = await waitingApproval();
    controller.abort("the agent gave up");
    await expect(cancelled).rejects.toThrow();
    await until("the approval to be withdrawn", async () => {
      const all = (await call("GET", `/api/tool-approvals?connection_id=${conn.id}`)).body.data as {
        id: string;
        status: string;
      }[];
      return all.find((a) => a.id === first.id)?.status === "cancelled" ? true : undefined;
    });
    expect((await call("POST", `/api/tool-approvals/${first.id}/approve`)).status).toBe(409);

    const progress: string[] = [];
    const slow = client.callTool({ name: "create_entities", arguments: entity("approved") }, undefined, {
      onprogress: (p) => progress.push(String(p.message)),
      resetTimeoutOnProgress: true,
      timeout: 15_000,
    });
    const second = await waitingApproval();
    await until("a progress notification while it waits", () => (progress.length ? true : undefined), 15_000);
    expect(progress[0]).toContain("approval");
    expect((await call("POST", `/api/tool-approvals/${second.id}/approve`)).status).toBe(200);
    expect((await slow).isError).toBeFalsy();
    const graph = JSON.stringify((await client.callTool({ name: "read_graph", arguments: {} })).content);
    expect(graph).toContain("approved");
    expect(graph).not.toContain("never");
  }, 60_000);

  it("refuses a policy it cannot apply, and changes nothing", async () => {
    const conn = await install();
    const before = await call("GET", `/api/mcp-connections/${conn.id}/tool-policy`);
    for (const bad of [
      { tools: { echo: { name: "same" }, "get-sum": { name: "same" } } },
      { tools: { echo: { name: "has space" } } },
      { deny: "get-env" },
      { allow: ["echo"], extra: true },
      { deny: Array.from({ length: 501 }, (_, i) => `t${i}`) },
    ]) {
      const res = await setPolicy(conn.id, bad);
      expect(res.status, JSON.stringify(bad)).toBe(400);
      expect(res.body.error.code).toBe("bad_request");
    }
    expect((await call("GET", `/api/mcp-connections/${conn.id}/tool-policy`)).body).toEqual(before.body);
    // A rename onto a name another offered tool keeps is not given: that tool stays hidden.
    const taken = await setPolicy(conn.id, { tools: { echo: { name: "get-sum" } } });
    expect((taken.body.data.tools as Verdict[]).find((v) => v.name === "echo")).toMatchObject({
      visible: false,
      hidden_by: "name_taken",
    });
  });
});

const e2bSupport = FakeE2B.supported();
describe.runIf(e2bSupport.ok)("tool policy across instances (E2B, one PostgreSQL)", () => {
  let fake: FakeE2B;
  let a: BerthServer;
  let b: BerthServer;
  let pgDb: Awaited<ReturnType<typeof createPostgresDatabase>>;

  beforeAll(async () => {
    fake = await FakeE2B.start();
    pgDb = await createPostgresDatabase();
    const env = {
      ...fake.berthEnv(),
      DATABASE_URL: pgDb.url,
      BERTH_ENCRYPTION_KEYS: `k1:${Buffer.alloc(32, 9).toString("base64")}`,
    };
    a = await startBerth(env);
    b = await startBerth(env);
  });
  afterAll(async () => {
    await b?.stop();
    await a?.stop();
    await pgDb?.drop();
    await fake?.close();
  });

  it("a policy set through one instance reaches the clients of another as soon as it hears", async () => {
    const account = (await a.cli(["accounts", "create", "--name", "Two"])) as Account;
    const onA = api(a.url, account.api_key);
    const installed = await onA("POST", "/api/mcp-connections/install", {
      account_id: account.account_id,
      server_id: "everything",
    });
    expect(installed.body.data.status, installed.text).toBe("running");
    const { id } = installed.body.data;
    // The agent speaks to B, which takes the sandbox over and holds its own session with the server.
    const { client, heard } = await connect(`${b.url}/api/mcp/${id}`, account.api_key);
    try {
      expect(await names(client)).toContain("get-env");
      expect((await onA("PUT", `/api/mcp-connections/${id}/tool-policy`, { deny: ["get-env"] })).status).toBe(200);
      await until("B's client to hear the change", () => (heard.listChanged >= 1 ? true : undefined), 5000);
      expect(await names(client)).not.toContain("get-env");
      expect((await callError(client, "get-env")).code).toBe(-32602);

      // A call waiting on B is approved through A.
      const gated = { tools: { "get-sum": { approval: true } }, approval_timeout_seconds: 60 };
      expect((await onA("PUT", `/api/mcp-connections/${id}/tool-policy`, gated)).status).toBe(200);
      await until("B's client to hear the second change", () => (heard.listChanged >= 2 ? true : undefined), 5000);
      const waiting = client.callTool({ name: "get-sum", arguments: { a: 2, b: 3 } });
      const approval = await until("the call on B to wait", async () => {
        const list = (await onA("GET", "/api/tool-approvals?status=pending")).body.data as { id: string }[];
        return list[0];
      });
      const started = Date.now();
      expect((await onA("POST", `/api/tool-approvals/${approval.id}/approve`)).status).toBe(200);
      expect(JSON.stringify((await waiting).content)).toContain("5");
      console.log(`approval through A reached the call on B in ${Date.now() - started} ms`);
    } finally {
      await client.close();
    }
  });
});
