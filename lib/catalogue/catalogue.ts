import type { ServerFields } from "@/lib/db/queries/servers";

/**
 * The catalogue seeded on first start: real servers from the npm registry at pinned versions.
 * Berth installs these same versions with itself, so they start without the network.
 */
const STDIO = { transport: "stdio", port: null, path: null } as const;

export const CATALOGUE: ServerFields[] = [
  {
    slug: "memory",
    title: "Memory",
    description: "A knowledge graph the agent can write to and query: entities, relations and observations.",
    start_command: "npx -y @modelcontextprotocol/server-memory@2026.8.31",
    credential_schema: { type: "object", properties: {} },
    default_timeout: 3600,
    version: "2026.8.31",
    // Without it the server writes next to its own code, which every sandbox shares.
    env: { MEMORY_FILE_PATH: "{home}/memory.jsonl" },
    network: false,
    ...STDIO,
  },
  {
    slug: "everything",
    title: "Everything",
    description: "The MCP reference server: tools, resources, prompts, sampling, elicitation and progress.",
    start_command: "npx -y @modelcontextprotocol/server-everything@2026.8.31 stdio",
    credential_schema: { type: "object", properties: {} },
    default_timeout: 3600,
    version: "2026.8.31",
    env: {},
    network: false,
    ...STDIO,
  },
  {
    slug: "everything-http",
    title: "Everything (Streamable HTTP)",
    description:
      "The MCP reference server speaking Streamable HTTP itself, inside its sandbox: the same tools, resources and prompts.",
    start_command: "npx -y @modelcontextprotocol/server-everything@2026.8.31 streamableHttp",
    credential_schema: { type: "object", properties: {} },
    default_timeout: 3600,
    version: "2026.8.31",
    env: {},
    network: false,
    transport: "streamable-http",
    port: 3001,
    path: "/mcp",
  },
  {
    slug: "filesystem",
    title: "Filesystem",
    description: "Read, write and search files, limited to the sandbox's own directory.",
    start_command: "npx -y @modelcontextprotocol/server-filesystem@2026.8.31 .",
    credential_schema: { type: "object", properties: {} },
    default_timeout: 3600,
    version: "2026.8.31",
    env: {},
    network: false,
    ...STDIO,
  },
  {
    slug: "sequential-thinking",
    title: "Sequential Thinking",
    description: "Structured, revisable step-by-step reasoning as a tool.",
    start_command: "npx -y @modelcontextprotocol/server-sequential-thinking@2026.8.31",
    credential_schema: { type: "object", properties: {} },
    default_timeout: 3600,
    version: "2026.8.31",
    env: {},
    network: false,
    ...STDIO,
  },
  {
    slug: "github",
    title: "GitHub",
    description: "Repositories, issues, pull requests and code search through the GitHub API.",
    start_command: "npx -y @modelcontextprotocol/server-github@2025.4.8",
    credential_schema: {
      type: "object",
      properties: {
        GITHUB_PERSONAL_ACCESS_TOKEN: {
          type: "string",
          title: "Personal access token",
          description: "A GitHub token with the scopes the agent needs (e.g. repo).",
          minLength: 1,
          writeOnly: true,
        },
      },
      required: ["GITHUB_PERSONAL_ACCESS_TOKEN"],
    },
    default_timeout: 3600,
    version: "2025.4.8",
    env: {},
    network: true,
    ...STDIO,
  },
  {
    slug: "brave-search",
    title: "Brave Search",
    description: "Web and local search through the Brave Search API.",
    start_command: "npx -y @modelcontextprotocol/server-brave-search@0.6.2",
    credential_schema: {
      type: "object",
      properties: {
        BRAVE_API_KEY: {
          type: "string",
          title: "API key",
          description: "A Brave Search API key.",
          minLength: 1,
          writeOnly: true,
        },
      },
      required: ["BRAVE_API_KEY"],
    },
    default_timeout: 3600,
    version: "0.6.2",
    env: {},
    network: true,
    ...STDIO,
  },
  {
    slug: "slack",
    title: "Slack",
    description: "Read channels and threads, post messages and reactions in a Slack workspace.",
    start_command: "npx -y @modelcontextprotocol/server-slack@2025.4.25",
    credential_schema: {
      type: "object",
      properties: {
        SLACK_BOT_TOKEN: {
          type: "string",
          title: "Bot token",
          description: "Starts with xoxb-.",
          minLength: 1,
          writeOnly: true,
        },
        SLACK_TEAM_ID: {
          type: "string",
          title: "Team ID",
          description: "The workspace id, e.g. T01234567.",
          minLength: 1,
        },
        SLACK_CHANNEL_IDS: {
          type: "string",
          title: "Channel IDs",
          description: "Optional comma-separated channel ids to limit the server to.",
        },
      },
      required: ["SLACK_BOT_TOKEN", "SLACK_TEAM_ID"],
    },
    default_timeout: 3600,
    version: "2025.4.25",
    env: {},
    network: true,
    ...STDIO,
  },
];
