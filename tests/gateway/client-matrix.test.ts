import { Client } from "@modelcontextprotocol/sdk/client/index.js";
import { StreamableHTTPClientTransport } from "@modelcontextprotocol/sdk/client/streamableHttp.js";
import { Client as Client110 } from "mcp-sdk-1.10/client/index.js";
import { StreamableHTTPClientTransport as Transport110 } from "mcp-sdk-1.10/client/streamableHttp.js";
import { Client as Client117 } from "mcp-sdk-1.17/client/index.js";
import { StreamableHTTPClientTransport as Transport117 } from "mcp-sdk-1.17/client/streamableHttp.js";
import { Client as Client124 } from "mcp-sdk-1.24/client/index.js";
import { StreamableHTTPClientTransport as Transport124 } from "mcp-sdk-1.24/client/streamableHttp.js";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { PROVIDERS } from "../lifecycle/providers";
import { api, type BerthServer, startBerth } from "../support/berth-server";

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

/** MCP clients of several SDK generations, each negotiating its own protocol version through Berth. */
describe.each(PROVIDERS)("SDK generations through Berth on $name", (provider) => {
  let berth: BerthServer;
  let account: Account;
  let mcpUrl: string;

  beforeAll(async () => {
    await provider.setup();
    berth = await startBerth(provider.env());
    account = (await berth.cli(["accounts", "create", "--name", "Matrix"])) as Account;
    const res = await api(berth.url, account.api_key)("POST", "/api/mcp-connections/install", {
      account_id: account.account_id,
      server_id: "everything",
    });
    expect(res.body.data.status).toBe("running");
    mcpUrl = res.body.data.mcp_url;
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
});
