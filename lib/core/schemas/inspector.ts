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

export const ReadResourceInput = z
  .strictObject({
    uri: z.string().min(1).max(4096).meta({ description: "The resource's URI, as listed or from a template." }),
  })
  .meta({ id: "ReadResourceInput" });
export type ReadResourceInput = z.infer<typeof ReadResourceInput>;

export const GetPromptInput = z
  .strictObject({
    name: z.string().min(1).max(200),
    arguments: z
      .record(z.string(), z.string())
      .optional()
      .meta({ description: "The prompt's arguments; MCP gives prompts string values only." }),
  })
  .meta({ id: "GetPromptInput" });
export type GetPromptInput = z.infer<typeof GetPromptInput>;

export const McpListResult = z
  .array(z.looseObject({ name: z.string().optional(), uri: z.string().optional(), description: z.string().optional() }))
  .meta({ id: "McpListResult", description: "The server's own list entries, as MCP defines them." });

export const CallToolResult = z
  .looseObject({ content: z.array(z.unknown()), isError: z.boolean().optional() })
  .meta({ id: "CallToolResult" });

export const ReadResourceResult = z.looseObject({ contents: z.array(z.looseObject({ uri: z.string() })) }).meta({
  id: "ReadResourceResult",
  description: "The resource's contents (text or base64 blob), as MCP defines them.",
});

export const GetPromptResult = z
  .looseObject({
    description: z.string().optional(),
    messages: z.array(z.looseObject({ role: z.string(), content: z.unknown() })),
  })
  .meta({ id: "GetPromptResult", description: "The prompt's messages, as MCP defines them." });

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
    snippets: z
      .array(
        z.object({
          client: z.string().meta({ example: "claude-code" }),
          title: z.string(),
          where: z.string().meta({ description: "Where it goes: a file, or a terminal." }),
          language: z.enum(["json", "shell", "ts", "python"]),
          text: z.string(),
        }),
      )
      .meta({
        description:
          "The same connection for each client in its own format: Claude Desktop, Claude Code, Cursor, VS Code, Windsurf, the TypeScript and Python SDKs.",
      }),
  })
  .meta({ id: "ClientConfig" });
