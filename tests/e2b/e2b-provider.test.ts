import fs from "node:fs";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { isCheckFailedError, isDeployError } from "@/lib/core/runtime";
import { UpstreamSession } from "@/lib/mcp/upstream-session";
import { E2BProvider } from "@/lib/sandbox/e2b";
import { type CrashReport, NodeSandboxRuntime } from "@/lib/sandbox/runtime";
import { type FakeCall, FakeE2B } from "../fakes/e2b-server";
import { CHECKED_SERVER_GOOD_TOKEN, checkedServer } from "../fixtures/checked-server";

/**
 * E2BProvider against the local fake E2B (tests/fakes/e2b-server.ts), only through the real `e2b`
 * SDK: nothing of the SDK or of the provider is mocked. The fake really runs the commands, so the
 * memory server below is a real MCP server behind a real supergateway in a namespace sandbox.
 */

const support = FakeE2B.supported();
if (!support.ok) console.log(`[e2b fake] skipped: ${support.reason}`);

const INSTALLATION = "inst-e2b-test";
const MEMORY = "npx -y @modelcontextprotocol/server-memory@2026.8.31";
const timings: Record<string, number[]> = {};

function record(what: string, ms: number) {
  timings[what] = [...(timings[what] ?? []), ms];
}

async function timed<T>(what: string, fn: () => Promise<T>): Promise<T> {
  const t = performance.now();
  try {
    return await fn();
  } finally {
    record(what, Math.round(performance.now() - t));
  }
}

function memoryServers(fake: FakeE2B, sandboxId: string) {
  return fake
    .processes(sandboxId)
    .filter((p) => p.cmdline[0]?.endsWith("node") && p.cmdline[1]?.includes("mcp-server-memory"));
}

function bridges(fake: FakeE2B, sandboxId: string) {
  return fake
    .processes(sandboxId)
    .filter((p) => p.cmdline[0]?.endsWith("node") && p.cmdline[1]?.includes("supergateway"));
}

function callsFor(fake: FakeE2B, sandboxId: string, pred: (c: FakeCall) => boolean) {
  return fake.calls.filter((c) => c.sandboxId === sandboxId && pred(c));
}

function text(result: unknown) {
  return JSON.stringify(result);
}

describe.skipIf(!support.ok)("E2B provider against the fake E2B", () => {
  let fake: FakeE2B;
  let provider: E2BProvider;

  beforeAll(async () => {
    fake = await FakeE2B.start();
    provider = new E2BProvider({ ...fake.connection });
  });

  afterAll(async () => {
    await fake?.close();
    const rows = Object.entries(timings).map(([op, ms]) => `  ${op.padEnd(34)} ${ms.join(", ")} ms`);
    console.log(`[e2b fake] timings:\n${rows.join("\n")}`);
  });

  describe("a connection's server", () => {
    const crashes: CrashReport[] = [];
    let runtime: NodeSandboxRuntime;
    let sandboxId: string;

    beforeAll(() => {
      runtime = new NodeSandboxRuntime(provider, INSTALLATION);
      runtime.onCrash = (r) => crashes.push(r);
    });

    it("deploys the memory server in a sandbox and answers tools/call", async () => {
      const deployed = await timed("deploy memory (create→initialize)", () =>
        runtime.deploy({
          connectionId: "conn-1",
          accountId: "acct-1",
          startCommand: MEMORY,
          env: { MEMORY_FILE_PATH: "{home}/memory.jsonl", SECRET_TOKEN: "s3cr3t-value" },
          network: false,
          timeoutSeconds: 600,
        }),
      );
      sandboxId = deployed.sandboxId;
      const session = runtime.session("conn-1");
      expect(session).toBeDefined();
      await timed("tools/call create_entities", () =>
        (session as NonNullable<typeof session>).request("tools/call", {
          name: "create_entities",
          arguments: { entities: [{ name: "Berth", entityType: "project", observations: ["runs MCP servers"] }] },
        }),
      );
      const graph = await timed("tools/call read_graph", () =>
        (session as NonNullable<typeof session>).request("tools/call", { name: "read_graph", arguments: {} }),
      );
      expect(text(graph)).toContain("runs MCP servers");

      // The server wrote under the sandbox's /home/user, which is this dir on the fake's host.
      const home = fake.sandbox(sandboxId)?.home as string;
      expect(fs.readFileSync(path.join(home, "memory.jsonl"), "utf8")).toContain("Berth");
    });

    it("created the sandbox with the owner metadata, the env as envVars and no open network", () => {
      const [create] = callsFor(fake, sandboxId, (c) => c.method === "POST" && c.path === "/v2/sandboxes");
      const body = create?.body as Record<string, any>;
      expect(body.templateID).toBe("base");
      expect(body.metadata).toEqual({
        berth_installation: INSTALLATION,
        berth_account_id: "acct-1",
        berth_connection_id: "conn-1",
      });
      expect(body.envVars).toEqual({ MEMORY_FILE_PATH: "/home/user/memory.jsonl", SECRET_TOKEN: "s3cr3t-value" });
      expect(body.timeout).toBe(600);
      expect(body.network).toEqual({
        allowPublicTraffic: false,
        allowOut: ["registry.npmjs.org"],
        denyOut: ["0.0.0.0/0"],
      });
      // Credentials never ride on a command line.
      const starts = callsFor(fake, sandboxId, (c) => c.path === "/process.Process/Start");
      expect(starts).toHaveLength(1);
      expect(text(starts)).not.toContain("s3cr3t-value");
      const start = starts[0]?.body as { process: { cmd: string; args: string[]; cwd: string } };
      expect(start.process.cwd).toBe("/home/user");
      expect(start.process.args.join(" ")).toContain("--stateful");
      expect(start.process.args.join(" ")).toContain("npx -y @modelcontextprotocol/server-memory@2026.8.31");
      // The MCP traffic went through the sandbox's port URL.
      expect(callsFor(fake, sandboxId, (c) => c.api === "port" && c.path.endsWith("/mcp")).length).toBeGreaterThan(0);
    });

    it("runs exactly one server process behind a stateful bridge", async () => {
      const session = runtime.session("conn-1");
      for (let i = 0; i < 3; i++) await session?.request("tools/list", {});
      expect(bridges(fake, sandboxId)).toHaveLength(1);
      expect(memoryServers(fake, sandboxId)).toHaveLength(1);
    });

    it("refuses port traffic without the sandbox's traffic token", async () => {
      const res = await fetch(`${fake.url}/ports/${sandboxId}/8080/healthz`);
      expect(res.status).toBe(403);
    });

    it("extends the sandbox through setTimeout", async () => {
      const before = Date.now();
      await timed("setTimeout", () => runtime.setExpiry("conn-1", sandboxId, new Date(Date.now() + 1800_000)));
      const [call] = callsFor(fake, sandboxId, (c) => c.method === "POST" && c.path.endsWith("/timeout"));
      expect(call?.body).toEqual({ timeout: 1800 });
      const endAt = fake.sandbox(sandboxId)?.endAt.getTime() as number;
      expect(endAt).toBeGreaterThanOrEqual(before + 1799_000);
      // Past the plan's maximum it is clamped, not refused.
      await provider.setTimeout(sandboxId, 10 * 86400);
      const calls = callsFor(fake, sandboxId, (c) => c.method === "POST" && c.path.endsWith("/timeout"));
      expect(calls.at(-1)?.body).toEqual({ timeout: 3600 });
    });

    it("lists the installation's sandboxes by metadata", async () => {
      const mine = await timed("list", () => provider.list(INSTALLATION));
      expect(mine).toContainEqual({
        id: sandboxId,
        owner: { installation: INSTALLATION, accountId: "acct-1", connectionId: "conn-1" },
      });
      expect(await provider.list("another-installation")).toEqual([]);
    });

    it("reattaches to the running sandbox after a restart of Berth", async () => {
      await runtime.shutdown(); // Berth stops: E2B sandboxes stay
      expect(fake.sandbox(sandboxId)).toBeDefined();
      const startsBefore = callsFor(fake, sandboxId, (c) => c.path === "/process.Process/Start").length;

      const restarted = new E2BProvider({ ...fake.connection });
      runtime = new NodeSandboxRuntime(restarted, INSTALLATION);
      runtime.onCrash = (r) => crashes.push(r);
      const again = await timed("attach + initialize", () =>
        runtime.deploy({
          connectionId: "conn-1",
          accountId: "acct-1",
          startCommand: MEMORY,
          env: { MEMORY_FILE_PATH: "{home}/memory.jsonl", SECRET_TOKEN: "s3cr3t-value" },
          network: false,
          timeoutSeconds: 600,
          reattachSandboxId: sandboxId,
        }),
      );
      expect(again.sandboxId).toBe(sandboxId);
      // The running bridge was adopted (envd Connect), not started a second time.
      expect(callsFor(fake, sandboxId, (c) => c.path === "/process.Process/Start")).toHaveLength(startsBefore);
      expect(callsFor(fake, sandboxId, (c) => c.path === "/process.Process/Connect").length).toBeGreaterThan(0);
      expect(bridges(fake, sandboxId)).toHaveLength(1);
      const graph = await runtime.session("conn-1")?.request("tools/call", { name: "read_graph", arguments: {} });
      expect(text(graph)).toContain("runs MCP servers");
    });

    it("refuses to attach to a sandbox of another connection", async () => {
      const other = new E2BProvider({ ...fake.connection });
      const spec = {
        argv: ["npx", "-y", "x"],
        env: {},
        network: false,
        timeoutSeconds: 60,
        owner: { installation: INSTALLATION, accountId: "acct-1", connectionId: "conn-2" },
      };
      expect(await other.attach(sandboxId, spec)).toBeUndefined();
      expect(await other.attach("no-such-sandbox", spec)).toBeUndefined();
    });

    it("kills the sandbox: it is gone and its server reported stopped, not crashed", async () => {
      await timed("kill", () => runtime.stop("conn-1", sandboxId));
      expect(fake.sandbox(sandboxId)).toBeUndefined();
      expect((await provider.list(INSTALLATION)).map((s) => s.id)).not.toContain(sandboxId);
      expect(callsFor(fake, sandboxId, (c) => c.method === "DELETE")).toHaveLength(1);
      expect(crashes).toEqual([]);
      await provider.kill(sandboxId); // harmless when already gone
    });
  });

  it("reports a server that dies as a crash, with its stderr", async () => {
    const runtime = new NodeSandboxRuntime(provider, INSTALLATION);
    const crashed = nextCrash(runtime);
    const { sandboxId } = await runtime.deploy({
      connectionId: "conn-crash",
      accountId: "acct-1",
      startCommand: MEMORY,
      env: { MEMORY_FILE_PATH: "{home}/memory.jsonl" },
      network: false,
      timeoutSeconds: 120,
    });
    const [server] = memoryServers(fake, sandboxId);
    process.kill(server?.pid as number, "SIGKILL");
    const report = await crashed;
    expect(report.sandboxId).toBe(sandboxId);
    expect(report.stderrTail).toContain("Knowledge Graph MCP Server running on stdio");
    await runtime.stop("conn-crash", sandboxId);
  });

  it("keeps following a chatty server when the stderr stream is reopened", async () => {
    const chatty = new E2BProvider({ ...fake.connection, stderrRotateChars: 1000 });
    const runtime = new NodeSandboxRuntime(chatty, INSTALLATION);
    const crashed = nextCrash(runtime);
    const { sandboxId } = await runtime.deploy({
      connectionId: "conn-chatty",
      accountId: "acct-1",
      startCommand: `sh -c "yes noise | head -c 5000 >&2; exec ${MEMORY}"`,
      env: {},
      network: false,
      timeoutSeconds: 120,
    });
    await runtime.session("conn-chatty")?.request("tools/list", {});
    // The bridge's output stream was reopened (envd Connect) and the connection is still live.
    await expect
      .poll(() => callsFor(fake, sandboxId, (c) => c.path === "/process.Process/Connect").length)
      .toBeGreaterThan(0);
    expect(runtime.isLive("conn-chatty")).toBe(true);
    // …and a crash is still noticed through the reopened stream.
    const [server] = memoryServers(fake, sandboxId);
    process.kill(server?.pid as number, "SIGKILL");
    const report = await crashed;
    expect(report.sandboxId).toBe(sandboxId);
    expect(report.stderrTail).toContain("noise");
    await runtime.stop("conn-chatty", sandboxId);
  });

  it("ends the server when E2B ends the sandbox at its timeout", async () => {
    const runtime = new NodeSandboxRuntime(provider, INSTALLATION);
    const crashed = nextCrash(runtime);
    const { sandboxId } = await runtime.deploy({
      connectionId: "conn-short",
      accountId: "acct-1",
      startCommand: MEMORY,
      env: {},
      network: true,
      timeoutSeconds: 300,
    });
    const [create] = callsFor(fake, sandboxId, (c) => c.path === "/v2/sandboxes");
    expect((create?.body as { network: unknown } | undefined)?.network).toEqual({ allowPublicTraffic: false });
    await provider.setTimeout(sandboxId, 1); // E2B ends it in a second
    const report = await crashed;
    expect(report.sandboxId).toBe(sandboxId);
    expect(fake.calls).toContainEqual(expect.objectContaining({ api: "lifecycle", method: "timeout", sandboxId }));
    expect(fake.sandbox(sandboxId)).toBeUndefined();
  });

  it("times create → running step by step", async () => {
    const t0 = performance.now();
    const sandbox = await provider.create({
      argv: ["npx", "-y", "@modelcontextprotocol/server-memory@2026.8.31"],
      env: {},
      network: false,
      timeoutSeconds: 120,
      owner: { installation: INSTALLATION, accountId: "acct-1", connectionId: "conn-timing" },
    });
    const t1 = performance.now();
    const upstream = new UpstreamSession(sandbox.transport);
    await upstream.connect();
    const t2 = performance.now();
    await upstream.request("tools/list", {});
    const t3 = performance.now();
    const created = callsFor(fake, sandbox.id, (c) => c.path === "/v2/sandboxes")[0]?.at as number;
    const started = callsFor(fake, sandbox.id, (c) => c.path === "/process.Process/Start")[0]?.at as number;
    record("  REST create (to first envd call)", started - created);
    record("  create(): sandbox + bridge answering", Math.round(t1 - t0));
    record("  initialize (server spawned by npx)", Math.round(t2 - t1));
    record("  tools/list", Math.round(t3 - t2));
    await upstream.close();
    await timed("kill", () => provider.kill(sandbox.id));
    expect(await sandbox.exited).toEqual({ code: null, signal: "SIGKILL" });
  });

  it("fails a deploy whose server exits at once, and leaves no sandbox behind", async () => {
    const runtime = new NodeSandboxRuntime(provider, INSTALLATION);
    const before = new Set(fake.sandboxIds());
    const err = await runtime
      .deploy({
        connectionId: "conn-bad",
        accountId: "acct-1",
        startCommand: `sh -c "echo missing BAD_TOKEN >&2; exit 3"`,
        env: {},
        network: false,
        timeoutSeconds: 60,
      })
      .catch((e: unknown) => e);
    expect(isDeployError(err)).toBe(true);
    expect((err as Error).message).toBe("MCP server process failed");
    // The server's own stderr, for the user to see why it failed.
    expect((err as { stderrTail: string }).stderrTail).toContain("missing BAD_TOKEN");
    expect(fake.sandboxIds().filter((id) => !before.has(id))).toEqual([]);
  });

  it("dry-runs: tools listed, sandbox destroyed", async () => {
    const runtime = new NodeSandboxRuntime(provider, INSTALLATION);
    const before = new Set(fake.sandboxIds());
    const tools = await timed("dry run", () =>
      runtime.dryRun({ accountId: "acct-1", startCommand: MEMORY, env: {}, network: false, timeoutSeconds: 60 }),
    );
    expect(tools.map((t) => t.name)).toContain("create_entities");
    expect(fake.sandboxIds().filter((id) => !before.has(id))).toEqual([]);
  });

  it("dry-runs with a credential check: its call made in the sandbox, which is destroyed either way", async () => {
    const runtime = new NodeSandboxRuntime(provider, INSTALLATION);
    const before = new Set(fake.sandboxIds());
    const spec = (TOKEN: string) => ({
      accountId: "acct-1",
      startCommand: checkedServer.start_command as string,
      env: { TOKEN },
      network: false,
      timeoutSeconds: 60,
      check: { tool: "whoami", arguments: {} },
    });
    const tools = await runtime.dryRun(spec(CHECKED_SERVER_GOOD_TOKEN));
    expect(tools.map((t) => t.name)).toContain("whoami");
    const err = await runtime.dryRun(spec("wrong-token")).catch((e: unknown) => e);
    expect(isCheckFailedError(err)).toBe(true);
    expect(err).toMatchObject({ tool: "whoami", message: "Bad credentials: token rejected" });
    expect(fake.sandboxIds().filter((id) => !before.has(id))).toEqual([]);
  });

  describe("exec", () => {
    const owner = { installation: INSTALLATION, accountId: "acct-1" };
    const base = { timeoutSeconds: 20, maxOutputBytes: 1 << 20, owner };

    it("returns stdout, stderr and the exit code, and destroys the sandbox", async () => {
      const before = new Set(fake.sandboxIds());
      const r = await timed("exec (create→run→kill)", () =>
        provider.exec({
          ...base,
          argv: ["sh", "-c", "echo out; echo err >&2; echo $GREETING; exit 3"],
          env: { GREETING: "hi" },
        }),
      );
      expect(r).toMatchObject({
        stdout: "out\nhi\n",
        stderr: "err\n",
        exit_code: 3,
        truncated: false,
        timed_out: false,
      });
      expect(r.duration_ms).toBeGreaterThan(0);
      expect(fake.sandboxIds().filter((id) => !before.has(id))).toEqual([]);
      const create = fake.calls.filter((c) => c.path === "/v2/sandboxes").at(-1);
      expect((create?.body as { allow_internet_access: boolean } | undefined)?.allow_internet_access).toBe(false);
    });

    it("passes stdin and arguments exactly", async () => {
      const r = await provider.exec({ ...base, argv: ["cat"], stdin: 'hello\nit\'s "quoted" $HOME\n' });
      expect(r).toMatchObject({ stdout: 'hello\nit\'s "quoted" $HOME\n', exit_code: 0 });
      const args = await provider.exec({ ...base, argv: ["printf", "%s|", "a b", "$X", "`id`", "it's"] });
      expect(args.stdout).toBe("a b|$X|`id`|it's|");
      const none = await provider.exec({ ...base, argv: ["cat"] });
      expect(none).toMatchObject({ stdout: "", exit_code: 0 });
    });

    it("stops at the timeout", async () => {
      const r = await timed("exec timeout (1 s)", () =>
        provider.exec({ ...base, argv: ["sleep", "30"], timeoutSeconds: 1 }),
      );
      expect(r).toMatchObject({ exit_code: null, timed_out: true });
      expect(r.duration_ms).toBeLessThan(10_000);
    });

    it("cuts stdout and stderr at maxOutputBytes", async () => {
      const r = await provider.exec({
        ...base,
        maxOutputBytes: 1000,
        argv: ["sh", "-c", "yes | head -c 300000; yes e | head -c 5000 >&2; echo done >&2; exit 4"],
      });
      expect(r.stdout).toHaveLength(1000);
      expect(r.stderr).toHaveLength(1000);
      expect(r).toMatchObject({ truncated: true, exit_code: 4, timed_out: false });
    });
  });

  it("maps E2B errors to clear messages", async () => {
    const wrongKey = new E2BProvider({ ...fake.connection, apiKey: "e2b_wrong" });
    await expect(
      wrongKey.exec({
        argv: ["true"],
        timeoutSeconds: 5,
        maxOutputBytes: 100,
        owner: { installation: "i", accountId: "a" },
      }),
    ).rejects.toThrow(/Could not create a sandbox: E2B rejected the API key/);
    await expect(provider.setTimeout("no-such-sandbox", 60)).rejects.toThrow(
      /Could not set the sandbox timeout: not found/,
    );
    const unreachable = new E2BProvider({ ...fake.connection, apiUrl: "http://127.0.0.1:9" });
    await expect(unreachable.list(INSTALLATION)).rejects.toThrow(/Could not list sandboxes: E2B is unreachable/);
    expect(() => new E2BProvider({})).toThrow(/E2B_API_KEY/);
  });
});

/** The next crash the runtime reports. */
function nextCrash(runtime: NodeSandboxRuntime) {
  return new Promise<CrashReport>((resolve) => {
    runtime.onCrash = resolve;
  });
}
