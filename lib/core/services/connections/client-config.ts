import type { Ctx } from "@/lib/core/context";
import { getConnectionOrThrow } from "./get";

/** Stands for an API key in every configuration; the dashboard swaps in a key it just created. */
export const KEY_PLACEHOLDER = "<YOUR_BERTH_API_KEY>";

export type Snippet = {
  client: string;
  title: string;
  where: string;
  language: "json" | "shell" | "ts" | "python";
  text: string;
};

/**
 * Ready-to-paste client configurations. Berth keeps only hashes of API keys, so the key is a
 * placeholder the user replaces (the dashboard's "Create a key for this", or
 * `npx berth api-keys create`).
 */
export async function clientConfig(ctx: Ctx, id: string) {
  const conn = await getConnectionOrThrow(ctx, id);
  const url = `${ctx.publicUrl}/api/mcp/${conn.id}`;
  const headers = { Authorization: `Bearer ${KEY_PLACEHOLDER}` };
  const name = conn.server_slug;
  const claudeDesktop = {
    mcpServers: {
      [name]: {
        command: "npx",
        // biome-ignore lint/suspicious/noTemplateCurlyInString: mcp-remote expands ${BERTH_AUTH} from env itself
        args: ["-y", "mcp-remote", url, "--header", "Authorization:${BERTH_AUTH}"],
        env: { BERTH_AUTH: `Bearer ${KEY_PLACEHOLDER}` },
      },
    },
  };
  return {
    url,
    headers,
    mcpServers: { [name]: { type: "http", url, headers } },
    claude_desktop: claudeDesktop,
    snippets: snippets(name, url, claudeDesktop),
  };
}

const json = (value: unknown) => JSON.stringify(value, null, 2);

/** One configuration per client, in each client's own format (as their documentation gives it). */
function snippets(name: string, url: string, claudeDesktop: unknown): Snippet[] {
  const auth = `Bearer ${KEY_PLACEHOLDER}`;
  const headers = { Authorization: auth };
  return [
    {
      client: "claude-desktop",
      title: "Claude Desktop",
      where: "claude_desktop_config.json (through the mcp-remote bridge)",
      language: "json",
      text: json(claudeDesktop),
    },
    {
      client: "claude-code",
      title: "Claude Code",
      where: "a terminal",
      language: "shell",
      text: `claude mcp add --transport http ${name} ${url} --header "Authorization: ${auth}"`,
    },
    {
      client: "cursor",
      title: "Cursor",
      where: "~/.cursor/mcp.json or .cursor/mcp.json",
      language: "json",
      text: json({ mcpServers: { [name]: { url, headers } } }),
    },
    {
      client: "vscode",
      title: "VS Code",
      where: ".vscode/mcp.json",
      language: "json",
      text: json({ servers: { [name]: { type: "http", url, headers } } }),
    },
    {
      client: "windsurf",
      title: "Windsurf",
      where: "~/.codeium/windsurf/mcp_config.json",
      language: "json",
      text: json({ mcpServers: { [name]: { serverUrl: url, headers } } }),
    },
    {
      client: "typescript",
      title: "TypeScript SDK",
      where: "@modelcontextprotocol/sdk",
      language: "ts",
      text: [
        'import { Client } from "@modelcontextprotocol/sdk/client/index.js";',
        'import { StreamableHTTPClientTransport } from "@modelcontextprotocol/sdk/client/streamableHttp.js";',
        "",
        `const transport = new StreamableHTTPClientTransport(new URL("${url}"), {`,
        `  requestInit: { headers: { Authorization: "${auth}" } },`,
        "});",
        'const client = new Client({ name: "my-agent", version: "1.0.0" });',
        "await client.connect(transport);",
        "console.log(await client.listTools());",
      ].join("\n"),
    },
    {
      client: "python",
      title: "Python SDK",
      where: "the mcp package",
      language: "python",
      text: [
        "import asyncio",
        "from mcp import ClientSession",
        "from mcp.client.streamable_http import streamablehttp_client",
        "",
        "async def main():",
        `    async with streamablehttp_client("${url}", headers={"Authorization": "${auth}"}) as (read, write, _):`,
        "        async with ClientSession(read, write) as session:",
        "            await session.initialize()",
        "            print(await session.list_tools())",
        "",
        "asyncio.run(main())",
      ].join("\n"),
    },
  ];
}
