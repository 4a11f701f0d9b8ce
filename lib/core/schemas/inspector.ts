import { z } from "zod";

export const InspectKind = z.enum(["tools", "resources", "prompts"]);
export type InspectKind = z.infer<typeof InspectKind>;

export const CallToolInput = z
  .strictObject({
    name: z.string().min(1).max(200),
    arguments: z.record(z.string(), z.unknown()).default({}),
  })
  .meta({ id: "CallToolInput" });
export type CallToolInput = z.infer<typeof CallToolInput>;

export const McpListResult = z
  .array(z.looseObject({ name: z.string().optional(), uri: z.string().optional(), description: z.string().optional() }))
  .meta({ id: "McpListResult", description: "The server's own list entries, as MCP defines them." });

export const CallToolResult = z
  .looseObject({ content: z.array(z.unknown()), isError: z.boolean().optional() })
  .meta({ id: "CallToolResult" });

export const ClientConfig = z
  .object({
    url: z.url(),
    headers: z.record(z.string(), z.string()),
    mcpServers: z.record(z.string(), z.unknown()).meta({
      description: "Paste into Cursor's or Claude Code's mcpServers (Streamable HTTP with a header).",
    }),
    claude_desktop: z.record(z.string(), z.unknown()).meta({
      description: "Claude Desktop's claude_desktop_config.json (through the mcp-remote stdio bridge).",
    }),
  })
  .meta({ id: "ClientConfig" });
