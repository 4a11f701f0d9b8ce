import type { ServerFields } from "@/lib/db/queries/servers";

/**
 * The catalogue seeded on first start: real servers from the npm registry at pinned versions.
 * Berth installs these same versions with itself, so they start without the network.
 */
const STDIO = { transport: "stdio", port: null, path: null } as const;

/**
 * The reference server's tools, as it lists them to Berth over stdio and Streamable HTTP alike (it
 * offers the roots, elicitation and sampling ones to a client that declares those capabilities).
 */
const EVERYTHING_TOOLS = [
  "echo",
  "get-annotated-message",
  "get-env",
  "get-resource-links",
  "get-resource-reference",
  "get-structured-content",
  "get-sum",
  "get-tiny-image",
  "gzip-file-as-resource",
  "toggle-simulated-logging",
  "toggle-subscriber-updates",
  "trigger-long-running-operation",
  "get-roots-list",
  "trigger-elicitation-request",
  "trigger-sampling-request",
  "simulate-research-query",
];

/** Servers without credentials have nothing for a dry run to check, nor a token to connect for. */
const UNCHECKED = { credential_check: null, oauth: null };

export const CATALOGUE: ServerFields[] = [
  {
    slug: "memory",
    title: "Memory",
    description: "A knowledge graph the agent can write to and query: entities, relations and observations.",
    start_command: "npx -y @modelcontextprotocol/server-memory@2026.8.31",
    credential_schema: { type: "object", properties: {} },
    default_timeout: 3600,
    version: "2026.8.31",
    tools: [
      "create_entities",
      "create_relations",
      "add_observations",
      "delete_entities",
      "delete_observations",
      "delete_relations",
      "read_graph",
      "search_nodes",
      "open_nodes",
    ],
    // Without it the server writes next to its own code, which every sandbox shares.
    env: { MEMORY_FILE_PATH: "{home}/memory.jsonl" },
    network: false,
    ...STDIO,
    ...UNCHECKED,
  },
  {
    slug: "everything",
    title: "Everything",
    description: "The MCP reference server: tools, resources, prompts, sampling, elicitation and progress.",
    start_command: "npx -y @modelcontextprotocol/server-everything@2026.8.31 stdio",
    credential_schema: { type: "object", properties: {} },
    default_timeout: 3600,
    version: "2026.8.31",
    tools: EVERYTHING_TOOLS,
    env: {},
    network: false,
    ...STDIO,
    ...UNCHECKED,
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
    tools: EVERYTHING_TOOLS,
    env: {},
    network: false,
    transport: "streamable-http",
    port: 3001,
    path: "/mcp",
    ...UNCHECKED,
  },
  {
    slug: "filesystem",
    title: "Filesystem",
    description: "Read, write and search files, limited to the sandbox's own directory.",
    start_command: "npx -y @modelcontextprotocol/server-filesystem@2026.8.31 .",
    credential_schema: { type: "object", properties: {} },
    default_timeout: 3600,
    version: "2026.8.31",
    tools: [
      "read_file",
      "read_text_file",
      "read_media_file",
      "read_multiple_files",
      "write_file",
      "edit_file",
      "create_directory",
      "list_directory",
      "list_directory_with_sizes",
      "directory_tree",
      "move_file",
      "search_files",
      "get_file_info",
      "list_allowed_directories",
    ],
    env: {},
    network: false,
    ...STDIO,
    ...UNCHECKED,
  },
  {
    slug: "sequential-thinking",
    title: "Sequential Thinking",
    description: "Structured, revisable step-by-step reasoning as a tool.",
    start_command: "npx -y @modelcontextprotocol/server-sequential-thinking@2026.8.31",
    credential_schema: { type: "object", properties: {} },
    default_timeout: 3600,
    version: "2026.8.31",
    tools: ["sequentialthinking"],
    env: {},
    network: false,
    ...STDIO,
    ...UNCHECKED,
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
    tools: [
      "create_or_update_file",
      "search_repositories",
      "create_repository",
      "get_file_contents",
      "push_files",
      "create_issue",
      "create_pull_request",
      "fork_repository",
      "create_branch",
      "list_commits",
      "list_issues",
      "update_issue",
      "add_issue_comment",
      "search_code",
      "search_issues",
      "search_users",
      "get_issue",
      "get_pull_request",
      "list_pull_requests",
      "create_pull_request_review",
      "merge_pull_request",
      "get_pull_request_files",
      "get_pull_request_status",
      "update_pull_request_branch",
      "get_pull_request_comments",
      "get_pull_request_reviews",
    ],
    env: {},
    network: true,
    ...STDIO,
    // server-github 2025.4.8 has no "who am I" tool; a one-result repository search is its cheapest
    // call, and GitHub answers a bad token 401 even on public searches, which the server turns into
    // a JSON-RPC error ("Authentication Failed: Bad credentials"). Its argument is `perPage`.
    credential_check: {
      tool: "search_repositories",
      arguments: { query: "modelcontextprotocol", perPage: 1 },
    },
    // A GitHub App's user tokens expire after 8 hours with a refresh token (an OAuth App's do not
    // expire); either works. The server takes the token in place of a personal access token.
    oauth: {
      provider: "GitHub",
      authorization_url: "https://github.com/login/oauth/authorize",
      token_url: "https://github.com/login/oauth/access_token",
      scopes: ["repo"],
      scope_delimiter: " ",
      env: { GITHUB_PERSONAL_ACCESS_TOKEN: "access_token" },
      refresh: true,
      authorization_params: {},
    },
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
    tools: ["brave_web_search", "brave_local_search"],
    env: {},
    network: true,
    ...STDIO,
    // A refused key is an HTTP error the server answers with isError ("Brave API error: 401 …").
    credential_check: { tool: "brave_web_search", arguments: { query: "mcp", count: 1 } },
    oauth: null, // Brave issues API keys, not OAuth grants
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
    tools: [
      "slack_list_channels",
      "slack_post_message",
      "slack_reply_to_thread",
      "slack_add_reaction",
      "slack_get_channel_history",
      "slack_get_thread_replies",
      "slack_get_users",
      "slack_get_user_profile",
    ],
    env: {},
    network: true,
    ...STDIO,
    // server-slack never sets isError: it answers Slack's own JSON, `{"ok":false,"error":"invalid_auth"}`
    // for a bad token, or `{"error":"…"}` when the call itself failed; both hold `"error":`. Users
    // rather than channels: with SLACK_CHANNEL_IDS set, slack_list_channels skips the channels it
    // could not read and answers `{"ok":true,"channels":[]}` whatever the token.
    credential_check: { tool: "slack_get_users", arguments: { limit: 1 }, error_text: '"error":' },
    // Slack's OAuth v2 installs the app's bot in a workspace: the answer's access_token is the bot
    // token and team.id the workspace. Scopes are comma-separated there; with token rotation on,
    // bot tokens expire after 12 hours and come with a refresh token.
    oauth: {
      provider: "Slack",
      authorization_url: "https://slack.com/oauth/v2/authorize",
      token_url: "https://slack.com/api/oauth.v2.access",
      scopes: [
        "channels:history",
        "channels:read",
        "chat:write",
        "reactions:write",
        "users:read",
        "users.profile:read",
      ],
      scope_delimiter: ",",
      env: { SLACK_BOT_TOKEN: "access_token", SLACK_TEAM_ID: "team.id" },
      refresh: true,
      authorization_params: {},
    },
  },
];
