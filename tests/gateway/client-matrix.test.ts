import { spawn } from "node:child_process";
import fs from "node:fs";
import path from "node:path";
import { Client } from "@modelcontextprotocol/sdk/client/index.js";
import { StdioClientTransport } from "@modelcontextprotocol/sdk/client/stdio.js";
import { StreamableHTTPClientTransport } from "@modelcontextprotocol/sdk/client/streamableHttp.js";
import { SUPPORTED_PROTOCOL_VERSIONS } from "@modelcontextprotocol/sdk/types.js";
import { Client as Client110 } from "mcp-sdk-1.10/client/index.js";
import { StreamableHTTPClientTransport as Transport110 } from "mcp-sdk-1.10/client/streamableHttp.js";
import { Client as Client117 } from "mcp-sdk-1.17/client/index.js";
import { StreamableHTTPClientTransport as Transport117 } from "mcp-sdk-1.17/client/streamableHttp.js";
import { Client as Client124 } from "mcp-sdk-1.24/client/index.js";
import { StreamableHTTPClientTransport as Transport124 } from "mcp-sdk-1.24/client/streamableHttp.js";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { PROVIDERS } from "../lifecycle/providers";
import { api, type BerthServer, startBerth } from "../support/berth-server";
import { tempDir } from "../support/temp-dirs";
import { until } from "../support/until";

type Account = { account_id: string; api_key: string };

/** What the SDK generations share: enough to connect and use a server. */
type AnyClient = {
  connect(transport: unknown): Promise<void>;
  getServerVersion(): { name: string } | undefined;
  listTools(): Promise<{ tools: { name: string }[] }>;
  callTool(p: { name: string; arguments: Record<string, unknown> }): Promise<unknown>;
  listResources(): Promise<{ resources: { uri: string }[] }>;
  readResource(p: { uri: string }): Promise<{ contents: unknown[] }>;
  listPrompts(): Promise<{ prompts: { name: string }[] }>;
  getPrompt(p: { name: string; arguments?: Record<string, string> }): Promise<{ messages: unknown[] }>;
  close(): Promise<void>;
};
type Generation = {
  sdk: string;
  client(): AnyClient;
  transport(url: URL, headers: Record<string, string>): unknown;
};

type ClientClass = new (info: { name: string; version: string }) => unknown;
type TransportClass = new (url: URL, opts: { requestInit: { headers: Record<string, string> } }) => unknown;

/** One generation: its own Client and transport (npm aliases of @modelcontextprotocol/sdk). */
const generation = (sdk: string, ClientOf: ClientClass, TransportOf: TransportClass): Generation => ({
  sdk,
  client: () => new ClientOf({ name: "matrix", version: "1" }) as AnyClient,
  transport: (url, headers) => new TransportOf(url, { requestInit: { headers } }),
});

const GENERATIONS: Generation[] = [
  generation("1.10.2", Client110, Transport110),
  generation("1.17.5", Client117, Transport117),
  generation("1.24.3", Client124, Transport124),
  generation("current", Client, StreamableHTTPClientTransport),
];

const BIN = path.resolve(import.meta.dirname, "../../node_modules/.bin");

/** A stdio transport that keeps the negotiated protocol version (the SDK hands it only to transports that ask). */
class RecordingStdioTransport extends StdioClientTransport {
  protocolVersion?: string;
  setProtocolVersion(version: string) {
    this.protocolVersion = version;
  }
}

/**
 * Runs a one-shot command in its own process group with a deadline and returns its stdout; the
 * whole group is killed at the deadline and afterwards (the Inspector's launcher forks its CLI).
 */
async function runOnce(command: string, args: string[], cwd: string, ms = 30_000): Promise<string> {
  const child = spawn(command, args, { cwd, detached: true, stdio: ["ignore", "pipe", "pipe"] });
  const killGroup = () => {
    try {
      if (child.pid) process.kill(-child.pid, "SIGKILL");
    } catch {
      // already gone
    }
  };
  let stdout = "";
  let stderr = "";
  child.stdout.on("data", (d) => {
    stdout += d;
  });
  child.stderr.on("data", (d) => {
    stderr += d;
  });
  const timer = setTimeout(killGroup, ms);
  try {
    const code = await new Promise<number | null>((resolve, reject) => {
      child.once("error", reject);
      child.once("close", resolve);
    });
    if (code !== 0) throw new Error(`${path.basename(command)} ${args.join(" ")} exited ${code}:\n${stderr}`);
    return stdout;
  } finally {
    clearTimeout(timer);
    killGroup();
  }
}

/**
 * MCP clients through Berth: SDK generations, each negotiating its own protocol version, and two
 * real clients built on the SDK (mcp-remote's stdio bridge, the Inspector's CLI).
 */
/** Each provider with a server on its stdio and one that serves Streamable HTTP itself in its sandbox. */
const TARGETS = PROVIDERS.flatMap((provider) =>
  ["everything", "everything-http"].map((server) => ({ provider, name: provider.name, server })),
);

describe.each(TARGETS)("MCP clients through Berth on $name, to $server", ({ provider, server }) => {
  let berth: BerthServer;
  let account: Account;
  let mcpUrl: string;
  let connectionId: string;

  beforeAll(async () => {
    await provider.setup();
    berth = await startBerth(provider.env());
    account = (await berth.cli(["accounts", "create", "--name", "Matrix"])) as Account;
    const res = await api(berth.url, account.api_key)("POST", "/api/mcp-connections/install", {
      account_id: account.account_id,
      server_id: server,
    });
    expect(res.body.data.status).toBe("running");
    mcpUrl = res.body.data.mcp_url;
    connectionId = res.body.data.id;
  });
  afterAll(async () => {
    await berth?.stop();
    await provider.teardown();
  });

  it.each(GENERATIONS)("SDK $sdk initializes, calls a tool, reads a resource and gets a prompt", async (gen) => {
    const client = gen.client();
    await client.connect(gen.transport(new URL(mcpUrl), { authorization: `Bearer ${account.api_key}` }));
    try {
      expect(client.getServerVersion()?.name).toMatch(/everything/);
      expect((await client.listTools()).tools.map((t) => t.name)).toContain("echo");
      const echoed = (await client.callTool({ name: "echo", arguments: { message: `from ${gen.sdk}` } })) as {
        content: { text: string }[];
      };
      expect(echoed.content[0]?.text).toContain(`from ${gen.sdk}`);
      const [resource] = (await client.listResources()).resources;
      expect(resource).toBeDefined();
      expect((await client.readResource({ uri: resource?.uri as string })).contents.length).toBeGreaterThan(0);
      const prompts = (await client.listPrompts()).prompts;
      const simple = prompts.find((p) => /simple/.test(p.name)) ?? prompts[0];
      expect((await client.getPrompt({ name: simple?.name as string })).messages.length).toBeGreaterThan(0);
    } finally {
      await client.close();
    }
  });

  // How desktop apps (Claude Desktop) reach a remote server: stdio client -> mcp-remote -> Berth.
  it("mcp-remote bridges a stdio client to Berth", async () => {
    const configDir = tempDir("mcp-remote-");
    const transport = new RecordingStdioTransport({
      command: path.join(BIN, "mcp-remote"),
      // mcp-remote fills ${BERTH_AUTH} from its environment: no space in argv for desktop apps
      // to split, and no key in `ps`. Its OAuth state goes to a temp dir, not ~/.mcp-auth.
      // biome-ignore lint/suspicious/noTemplateCurlyInString: mcp-remote's own placeholder, not ours
      args: [mcpUrl, "--header", "Authorization:${BERTH_AUTH}", "--transport", "http-only", "--allow-http"],
      env: { BERTH_AUTH: `Bearer ${account.api_key}`, MCP_REMOTE_CONFIG_DIR: configDir },
      stderr: "pipe",
    });
    let log = "";
    transport.stderr?.on("data", (d) => {
      log += d;
    });
    const client = new Client({ name: "matrix", version: "1" });
    try {
      // Bounded: on a 401 mcp-remote would wait for a browser login.
      await client.connect(transport, { timeout: 20_000 });
      expect(SUPPORTED_PROTOCOL_VERSIONS).toContain(transport.protocolVersion);
      expect(client.getServerVersion()?.name).toMatch(/everything/);
      expect((await client.listTools()).tools.map((t) => t.name)).toContain("echo");
      const echoed = (await client.callTool({ name: "echo", arguments: { message: "from mcp-remote" } })) as {
        content: { text: string }[];
      };
      expect(echoed.content[0]?.text).toContain("from mcp-remote");
      const [resource] = (await client.listResources()).resources;
      expect(resource).toBeDefined();
      expect((await client.readResource({ uri: resource?.uri as string })).contents.length).toBeGreaterThan(0);
      const prompts = (await client.listPrompts()).prompts;
      const simple = prompts.find((p) => /simple/.test(p.name)) ?? prompts[0];
      expect((await client.getPrompt({ name: simple?.name as string })).messages.length).toBeGreaterThan(0);
      // Only this client calls get-sum here, so its audit event shows the call went through Berth.
      await client.callTool({ name: "get-sum", arguments: { a: 2, b: 3 } });
      await until("mcp-remote's get-sum in the connection's events", async () => {
        const events = (await api(berth.url, account.api_key)("GET", `/api/mcp-connections/${connectionId}/events`))
          .body.data as { type: string; data: { tool?: string } }[];
        return events.some((e) => e.type === "tool_call" && e.data.tool === "get-sum") || undefined;
      });
    } catch (err) {
      throw new Error(`${err}\nmcp-remote's log:\n${log}`, { cause: err });
    } finally {
      await client.close(); // ends mcp-remote: stdin closed, then SIGTERM, then SIGKILL
      fs.rmSync(configDir, { recursive: true, force: true });
    }
  });

  // The Inspector's CLI mode: one process per method, JSON on stdout.
  it("MCP Inspector CLI lists and calls a tool, reads a resource and gets a prompt", async () => {
    // inspector-cli 1.0.3 looks for ../package.json from its cwd but imports it from its build
    // dir, so it runs only from a dir one below a package.json: its own build dir is one.
    const buildDir = path.dirname(fs.realpathSync(path.join(BIN, "mcp-inspector-cli")));
    const inspector = async (...args: string[]) =>
      JSON.parse(
        await runOnce(
          path.join(BIN, "mcp-inspector-cli"),
          ["--cli", mcpUrl, "--transport", "http", ...args, "--header", `Authorization: Bearer ${account.api_key}`],
          buildDir,
        ),
      );
    const { tools } = await inspector("--method", "tools/list");
    expect(tools.map((t: { name: string }) => t.name)).toContain("echo");
    const echoed = await inspector(
      "--method",
      "tools/call",
      "--tool-name",
      "echo",
      "--tool-arg",
      "message=from inspector",
    );
    expect(echoed.content[0].text).toContain("from inspector");
    const [resource] = (await inspector("--method", "resources/list")).resources;
    expect(resource).toBeDefined();
    expect((await inspector("--method", "resources/read", "--uri", resource.uri)).contents.length).toBeGreaterThan(0);
    const { prompts } = await inspector("--method", "prompts/list");
    const simple = prompts.find((p: { name: string }) => /simple/.test(p.name)) ?? prompts[0];
    expect((await inspector("--method", "prompts/get", "--prompt-name", simple.name)).messages.length).toBeGreaterThan(
      0,
    );
  });
});
