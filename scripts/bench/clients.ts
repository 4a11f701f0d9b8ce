import { Client } from "@modelcontextprotocol/sdk/client/index.js";
import { StreamableHTTPClientTransport } from "@modelcontextprotocol/sdk/client/streamableHttp.js";

/** A new MCP SDK client with its own session on a connection's endpoint (its `initialize` is sent now). */
export async function mcpClient(url: string, apiKey: string, name = "bench") {
  const client = new Client({ name, version: "1" });
  await client.connect(
    new StreamableHTTPClientTransport(new URL(url), {
      requestInit: { headers: { authorization: `Bearer ${apiKey}` } },
    }),
  );
  return client;
}

/** A tool call that throws when the tool answered an error, so every failure counts as one. */
export async function callTool(client: Client, name: string, args: Record<string, unknown>, timeout = 30_000) {
  const r = await client.callTool({ name, arguments: args }, undefined, { timeout });
  if (r.isError) throw new Error(`${name} failed: ${JSON.stringify(r.content).slice(0, 200)}`);
  return r;
}
