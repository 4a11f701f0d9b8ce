import { z } from "zod";
import { PageQuery } from "@/lib/core/pagination";
import { AccountSettings, UpdateAccountSettingsInput } from "@/lib/core/schemas/account";
import { ApiKey, ApiKeyIdParams, CreateApiKeyInput, CreatedApiKey } from "@/lib/core/schemas/api-key";
import {
  Connection,
  ConnectionEvent,
  CredentialsInput,
  DryRunResult,
  ExtendInput,
  InstallHeaders,
  InstallInput,
  ListConnectionsQuery,
  UpdateConnectionInput,
} from "@/lib/core/schemas/connection";
import {
  CallToolInput,
  CallToolResult,
  ClientConfig,
  GetPromptInput,
  GetPromptResult,
  type InspectKind,
  McpListResult,
  ReadResourceInput,
  ReadResourceResult,
} from "@/lib/core/schemas/inspector";
import { InvitedMember, InviteMemberInput, Member, MemberParams, SetMemberRoleInput } from "@/lib/core/schemas/member";
import { GrantParams, OAuthGrant } from "@/lib/core/schemas/oauth-grant";
import { SandboxRunInput, SandboxRunResult } from "@/lib/core/schemas/sandbox-run";
import { ServerDefinition, toServerDefinitionJson } from "@/lib/core/schemas/server-definition";
import {
  ApprovalIdParams,
  ListApprovalsQuery,
  ToolApproval,
  ToolPolicy,
  ToolPolicyAnswer,
} from "@/lib/core/schemas/tool-policy";
import { AuthorizeAnswer, AuthorizeInput } from "@/lib/core/schemas/upstream-oauth";
import { Usage, UsageQuery } from "@/lib/core/schemas/usage";
import { createApiKey, listApiKeys, revokeApiKey } from "@/lib/core/services/api-keys";
import { clientConfig } from "@/lib/core/services/connections/client-config";
import { deleteConnection } from "@/lib/core/services/connections/delete";
import { dryRunConnection } from "@/lib/core/services/connections/dry-run";
import { extendConnection } from "@/lib/core/services/connections/extend";
import { getConnectionOrThrow } from "@/lib/core/services/connections/get";
import {
  callToolOnServer,
  getPromptOnServer,
  listFromServer,
  readResourceOnServer,
} from "@/lib/core/services/connections/inspect";
import { installConnection } from "@/lib/core/services/connections/install";
import { listAccountConnections, listEventsOfConnection } from "@/lib/core/services/connections/list";
import { listGrants, revokeGrant } from "@/lib/core/services/connections/oauth-grants";
import { presentConnection } from "@/lib/core/services/connections/present";
import { replaceCredentials } from "@/lib/core/services/connections/replace-credentials";
import { restartConnection } from "@/lib/core/services/connections/restart";
import { getToolPolicy, setToolPolicy } from "@/lib/core/services/connections/tool-policy";
import { updateConnection } from "@/lib/core/services/connections/update";
import { startAuthorization } from "@/lib/core/services/connections/upstream-oauth";
import { getDefinition, listDefinitions } from "@/lib/core/services/definitions/definitions";
import { inviteMember, listMembers, removeMember, setMemberRole } from "@/lib/core/services/members";
import { runInSandbox } from "@/lib/core/services/sandbox-runs/run";
import { getAccountSettings, updateAccountSettings } from "@/lib/core/services/settings";
import { decideApproval, listApprovals } from "@/lib/core/services/tool-approvals";
import { getUsage } from "@/lib/core/services/usage/get-usage";
import { parseInput } from "./input";
import { buildDocsPage, buildOpenApiDocument } from "./openapi";
import { type Answer, account, gateway, json, listed, open, type Route } from "./route";

/**
 * Every REST route of Berth, once: `"METHOD /api/path"` → its documentation, input and answer
 * schemas, errors and handler. Handlers only call services.
 */

const ConnectionId = z.object({ id: z.uuid().meta({ description: "The connection's id." }) });

const inspect = (kind: InspectKind, summary: string, description: string, operationId: string) =>
  account(
    {
      operationId,
      tags: ["Inspector"],
      live: true,
      summary,
      description,
      params: ConnectionId,
      answers: { 200: { description: `The server's ${kind}, as MCP defines them.`, schema: McpListResult } },
      errors: [401, 404, 409, 502],
    },
    async ({ ctx, id }) => json(await listFromServer(ctx, id, kind)),
  );

const approvalDecision = (status: "approved" | "rejected") =>
  account(
    {
      operationId: status === "approved" ? "approveToolCall" : "rejectToolCall",
      admin: true,
      tags: ["Approvals"],
      summary: status === "approved" ? "Approve a waiting tool call" : "Reject a waiting tool call",
      description:
        status === "approved"
          ? "The call goes on to the server and its client gets the tool's answer. Recorded as a `tool_approval` event."
          : "The call is not made; its client gets an error result saying an admin rejected it. Recorded as a " +
            "`tool_approval` event.",
      params: ApprovalIdParams,
      notFound: "No such approval.",
      answers: { 200: { description: "The decided approval.", schema: ToolApproval } },
      errors: [400, 401, 404, 409, 413],
    },
    async ({ ctx, id }) => json(await decideApproval(ctx, id, status)),
  );

const mcp = (operationId: string, summary: string, description: string, withBody: boolean, errors: Route["errors"]) => {
  const session = z.string().meta({ description: "The session id answered to `initialize`." });
  const answers: Record<number, Answer> = {
    200: {
      description: "JSON-RPC answer(s), as `application/json` or a `text/event-stream`.",
      content: { "application/json": {}, "text/event-stream": {} },
    },
  };
  if (withBody) answers[202] = { description: "Notifications and responses accepted.", content: {} };
  return gateway({
    operationId,
    tags: ["MCP"],
    summary,
    description,
    params: ConnectionId,
    headers: z.object({ "mcp-session-id": withBody ? session.optional() : session }),
    ...(withBody
      ? {
          example: { jsonrpc: "2.0", id: 1, method: "ping" },
          rawBody: {
            description:
              "A JSON-RPC 2.0 message (or batch); at most 4 MiB. Without a session id it must be `initialize`.",
          },
        }
      : {}),
    answers,
    errors,
  });
};

export const ROUTES = {
  "GET /api/mcp-server-definitions": account(
    {
      operationId: "listServerDefinitions",
      tags: ["Server definitions"],
      summary: "List server definitions",
      description: "By title.",
      query: PageQuery,
      answers: {
        200: {
          description: "Every server definition of the catalogue, or a page of them.",
          schema: z.array(ServerDefinition),
          paged: true,
        },
      },
      errors: [400, 401],
    },
    async ({ ctx, input }) => {
      const list = await listDefinitions(ctx, input);
      return listed({ ...list, data: list.data.map((row) => toServerDefinitionJson(row, ctx.upstreamOAuthClients)) });
    },
  ),
  "GET /api/mcp-server-definitions/:idOrSlug": account(
    {
      operationId: "getServerDefinition",
      tags: ["Server definitions"],
      summary: "Get a server definition",
      params: z.object({
        idOrSlug: z.string().meta({ description: "The definition's id or slug.", example: "memory" }),
      }),
      answers: { 200: { description: "The server definition.", schema: ServerDefinition } },
      errors: [401, 404],
    },
    async ({ ctx, params }) =>
      json(toServerDefinitionJson(await getDefinition(ctx, params.idOrSlug ?? ""), ctx.upstreamOAuthClients)),
  ),
  "POST /api/mcp-connections/install": account(
    {
      operationId: "installConnection",
      admin: true,
      tags: ["Connections"],
      summary: "Install a server as a new connection",
      description:
        "Stores the connection (credentials encrypted) and deploys it in a new sandbox. Answers 201 once it " +
        "runs or failed, or while still `deploying` after a short wait. With `dry_run` the server is started " +
        "with these credentials, asked for `initialize` and `tools/list`, made to answer the definition's `check` " +
        "call if it declares one (a failure answers 422 `dry_run_failed`), and torn down; nothing is stored.",
      body: InstallInput,
      headers: InstallHeaders,
      answers: {
        201: {
          description:
            'The new connection, status `deploying`, `running` or `failed` (`auth_required` with `auth: "oauth"`); ' +
            "or, for an `Idempotency-Key` sent before, the connection that install made, as it is now.",
          schema: Connection,
        },
        200: {
          description:
            "`dry_run`: the server started, listed its tools and, if `checked`, passed its credential check.",
          schema: DryRunResult,
        },
      },
      errors: [400, 401, 404, 409, 413, 422, 429, 502],
    },
    async ({ ctx, input, req }) => {
      if (input.dry_run) return json(await dryRunConnection(ctx, input));
      const headers = parseInput(InstallHeaders, {
        "idempotency-key": req.headers.get("idempotency-key") ?? undefined,
      });
      const installed = await installConnection(ctx, input, { idempotencyKey: headers["idempotency-key"] });
      return json(await presentConnection(ctx, installed), 201);
    },
  ),
  "GET /api/mcp-connections": account(
    {
      operationId: "listConnections",
      tags: ["Connections"],
      summary: "List connections",
      description: "The account's connections, newest first; deleted ones are omitted.",
      query: ListConnectionsQuery,
      answers: { 200: { description: "The connections, newest first.", schema: z.array(Connection), paged: true } },
      errors: [400, 401, 404],
    },
    async ({ ctx, input }) => listed(await listAccountConnections(ctx, input)),
  ),
  "GET /api/mcp-connections/:id": account(
    {
      operationId: "getConnection",
      tags: ["Connections"],
      summary: "Get a connection",
      params: ConnectionId,
      answers: { 200: { description: "The connection.", schema: Connection } },
      errors: [401, 404],
    },
    async ({ ctx, id }) => json(await presentConnection(ctx, await getConnectionOrThrow(ctx, id))),
  ),
  "PATCH /api/mcp-connections/:id": account(
    {
      operationId: "updateConnection",
      tags: ["Connections"],
      summary: "Rename a connection or set its keep-alive",
      description: "Changes only what the body names; the sandbox keeps running as it is.",
      params: ConnectionId,
      body: UpdateConnectionInput,
      example: { keep_alive: false },
      answers: { 200: { description: "The updated connection.", schema: Connection } },
      errors: [400, 401, 404, 413],
    },
    async ({ ctx, id, input }) => json(await presentConnection(ctx, await updateConnection(ctx, id, input))),
  ),
  "DELETE /api/mcp-connections/:id": account(
    {
      operationId: "deleteConnection",
      admin: true,
      tags: ["Connections"],
      summary: "Delete a connection",
      description: "Stops the sandbox first, then marks the connection `deleted`; afterwards GET answers 404.",
      params: ConnectionId,
      answers: { 200: { description: "The connection with status `deleted`.", schema: Connection } },
      errors: [401, 404, 502],
    },
    async ({ ctx, id }) => json(await presentConnection(ctx, await deleteConnection(ctx, id))),
  ),
  "POST /api/mcp-connections/:id/extend": account(
    {
      operationId: "extendConnection",
      tags: ["Connections"],
      summary: "Extend a running connection",
      description: "`expires_at` becomes max(old, now + seconds).",
      params: ConnectionId,
      body: ExtendInput,
      bodyOptional: true,
      example: { seconds: 3600 },
      answers: { 200: { description: "The extended connection.", schema: Connection } },
      errors: [400, 401, 404, 409, 413, 502],
    },
    async ({ ctx, id, input }) => json(await presentConnection(ctx, await extendConnection(ctx, id, input))),
  ),
  "POST /api/mcp-connections/:id/restart": account(
    {
      operationId: "restartConnection",
      tags: ["Connections"],
      summary: "Restart a connection",
      description:
        "Replaces the sandbox: same id, same `mcp_url`, lifetime counted afresh. Allowed in every status but `deleted`; " +
        "brings a `failed` or `expired` connection back. A connection already `deploying` is answered as it is: that " +
        "deploy is the restart. One `auth_required` is not restarted (409): connect it again first.",
      params: ConnectionId,
      answers: { 202: { description: "The connection, redeploying in a new sandbox.", schema: Connection } },
      errors: [400, 401, 404, 409, 413, 429, 502],
    },
    async ({ ctx, id }) => json(await presentConnection(ctx, await restartConnection(ctx, id)), 202),
  ),
  "POST /api/mcp-connections/:id/authorize": account(
    {
      operationId: "authorizeConnection",
      admin: true,
      tags: ["Connections"],
      summary: "Connect a connection through its provider's OAuth",
      description:
        'For a server whose definition declares `oauth` ("Connect with GitHub"): answers the provider\'s ' +
        "authorization URL (PKCE S256, single-use state, ten minutes). Whoever opens it signs in there; the provider " +
        "sends the browser back to Berth (`/oauth/upstream/callback`), where an owner or admin of the account, signed " +
        "in to Berth in that browser, completes it: Berth stores the token encrypted with the credentials, deploys the connection (an `auth_required` one) or restarts it with the new token, and sends " +
        "the browser on to `return_to` (with `oauth_error` if it did not work). Berth then refreshes the token " +
        "before it expires; a refused refresh makes the connection `auth_required`. Recorded as `authorized`, " +
        "`token_refreshed` and `auth_required` events. 409 when this Berth has no OAuth app at that provider " +
        "(`BERTH_OAUTH_<SLUG>_CLIENT_ID`) or the connection is deploying.",
      params: ConnectionId,
      body: AuthorizeInput,
      bodyOptional: true,
      example: { return_to: "/dashboard/connections" },
      answers: { 200: { description: "Where to send the browser.", schema: AuthorizeAnswer } },
      errors: [400, 401, 404, 409, 413],
    },
    async ({ ctx, id, input }) => json(await startAuthorization(ctx, id, input ?? {})),
  ),
  "PUT /api/mcp-connections/:id/credentials": account(
    {
      operationId: "replaceCredentials",
      admin: true,
      tags: ["Connections"],
      summary: "Replace a connection's credentials",
      description:
        "Replaces the stored (encrypted) credentials and redeploys the connection with them; 409 while it is `deploying`.",
      params: ConnectionId,
      body: CredentialsInput,
      example: { credentials: { API_KEY: "…" } },
      answers: { 200: { description: "The connection, redeploying.", schema: Connection } },
      errors: [400, 401, 404, 409, 413, 429, 502],
    },
    async ({ ctx, id, input }) => json(await presentConnection(ctx, await replaceCredentials(ctx, id, input))),
  ),
  "GET /api/mcp-connections/:id/events": account(
    {
      operationId: "listConnectionEvents",
      tags: ["Connections"],
      summary: "List a connection's events",
      description:
        "Lifecycle events and tool calls (name, duration, outcome, sizes; never arguments or results). Without " +
        "`limit` nor `cursor`, the newest 200 only; page with `limit` and `cursor` to reach older ones. Tool calls " +
        "older than `BERTH_EVENT_RETENTION_DAYS` are pruned (their daily counts are kept); lifecycle events stay.",
      params: ConnectionId,
      query: PageQuery,
      answers: { 200: { description: "The events, newest first.", schema: z.array(ConnectionEvent), paged: true } },
      errors: [400, 401, 404],
    },
    async ({ ctx, id, input }) => listed(await listEventsOfConnection(ctx, id, input)),
  ),
  "GET /api/mcp-connections/:id/client-config": account(
    {
      operationId: "getConnectionClientConfig",
      tags: ["Connections"],
      summary: "Ready-to-paste client configurations",
      description: "URL and header, an mcpServers entry (Cursor, Claude Code) and a Claude Desktop entry.",
      params: ConnectionId,
      answers: { 200: { description: "The configurations; the API key is a placeholder.", schema: ClientConfig } },
      errors: [401, 404],
    },
    async ({ ctx, id }) => json(await clientConfig(ctx, id)),
  ),
  "GET /api/mcp-connections/:id/tool-policy": account(
    {
      operationId: "getToolPolicy",
      tags: ["Connections"],
      live: true,
      summary: "Get a connection's tool policy",
      description:
        "The policy, and while the connection runs each of its server's tools with what the policy makes of it " +
        "(offered or hidden, and why; the name and description clients see). Served by the app, not the Edge Function.",
      params: ConnectionId,
      answers: { 200: { description: "The policy and the server's tools.", schema: ToolPolicyAnswer } },
      errors: [401, 404],
    },
    async ({ ctx, id }) => json(await getToolPolicy(ctx, id)),
  ),
  "PUT /api/mcp-connections/:id/tool-policy": account(
    {
      operationId: "setToolPolicy",
      admin: true,
      tags: ["Connections"],
      summary: "Set which tools a connection offers",
      description:
        "Replaces the policy: `allow` and `deny` by the server's tool names, `read_only` to offer only tools the " +
        "server marks read-only, `tools` to rename or redescribe them. Takes effect at once: the MCP endpoint's " +
        "clients get `notifications/tools/list_changed`, a hidden tool is left out of `tools/list` and calling it " +
        "answers JSON-RPC error -32602, as an unknown tool does. The inspector sees what clients see. An empty " +
        "body (`{}`) offers every tool again. Recorded as a `tool_policy_changed` event. The answer's `tools` is null " +
        "unless the server runs in the Berth that answers (GET lists them wherever it runs).",
      params: ConnectionId,
      body: ToolPolicy,
      example: { allow: null, deny: ["delete_file"], read_only: false, tools: { search: { name: "web_search" } } },
      answers: { 200: { description: "The policy now in force and the server's tools.", schema: ToolPolicyAnswer } },
      errors: [400, 401, 404, 413],
    },
    async ({ ctx, id, input }) => json(await setToolPolicy(ctx, id, input)),
  ),
  "GET /api/mcp-connections/:id/oauth-grants": account(
    {
      operationId: "listOAuthGrants",
      tags: ["Connections"],
      summary: "List the MCP clients allowed through OAuth",
      description:
        "Clients a person of the account allowed on the consent page to use this connection (OAuth 2.1), while " +
        "their grant lives.",
      params: ConnectionId,
      query: PageQuery,
      answers: { 200: { description: "The grants, newest first.", schema: z.array(OAuthGrant), paged: true } },
      errors: [400, 401, 404],
    },
    async ({ ctx, id, input }) => listed(await listGrants(ctx, id, input)),
  ),
  "DELETE /api/mcp-connections/:id/oauth-grants/:grantId": account(
    {
      operationId: "revokeOAuthGrant",
      admin: true,
      tags: ["Connections"],
      summary: "Revoke an MCP client's OAuth grant",
      description: "Its access and refresh tokens stop working at once; the client must ask for consent again.",
      params: GrantParams,
      notFound: "No such grant.",
      answers: {
        200: {
          description: "The grant, revoked.",
          schema: z.object({ id: z.uuid(), revoked: z.literal(true) }),
        },
      },
      errors: [401, 404],
    },
    async ({ ctx, id, params }) => json(await revokeGrant(ctx, id, params.grantId ?? "")),
  ),
  "GET /api/mcp-connections/:id/tools": inspect(
    "tools",
    "List a running connection's tools",
    "Asks the server (tools/list), under the connection's tool policy: what agents see. A keep-alive connection " +
      "that expired or crashed is brought back first.",
    "listConnectionTools",
  ),
  "GET /api/mcp-connections/:id/resources": inspect(
    "resources",
    "List a running connection's resources",
    "Asks the server (resources/list); empty when it has none.",
    "listConnectionResources",
  ),
  "GET /api/mcp-connections/:id/prompts": inspect(
    "prompts",
    "List a running connection's prompts",
    "Asks the server (prompts/list); empty when it has none.",
    "listConnectionPrompts",
  ),
  "POST /api/mcp-connections/:id/tools/call": account(
    {
      operationId: "callConnectionTool",
      tags: ["Inspector"],
      live: true,
      summary: "Call a tool",
      description: "Calls one tool with the given arguments; audited as a `tool_call` event (never its arguments).",
      params: ConnectionId,
      body: CallToolInput,
      example: { name: "read_graph", arguments: {} },
      answers: { 200: { description: "The tool's result, as MCP defines it.", schema: CallToolResult } },
      errors: [400, 401, 404, 409, 413, 502],
    },
    async ({ ctx, id, input }) => json(await callToolOnServer(ctx, id, input)),
  ),
  "POST /api/mcp-connections/:id/resources/read": account(
    {
      operationId: "readConnectionResource",
      tags: ["Inspector"],
      live: true,
      summary: "Read a resource",
      description: "Reads one resource of the server (resources/read) by its URI; not audited (only tool calls are).",
      params: ConnectionId,
      body: ReadResourceInput,
      example: { uri: "file:///notes.txt" },
      answers: { 200: { description: "The resource's contents, as MCP defines them.", schema: ReadResourceResult } },
      errors: [400, 401, 404, 409, 413, 502],
    },
    async ({ ctx, id, input }) => json(await readResourceOnServer(ctx, id, input)),
  ),
  "POST /api/mcp-connections/:id/prompts/get": account(
    {
      operationId: "getConnectionPrompt",
      tags: ["Inspector"],
      live: true,
      summary: "Get a prompt",
      description:
        "Gets one prompt of the server (prompts/get) with string arguments; not audited (only tool calls are).",
      params: ConnectionId,
      body: GetPromptInput,
      example: { name: "summarize", arguments: { topic: "MCP" } },
      answers: { 200: { description: "The prompt's messages, as MCP defines them.", schema: GetPromptResult } },
      errors: [400, 401, 404, 409, 413, 502],
    },
    async ({ ctx, id, input }) => json(await getPromptOnServer(ctx, id, input)),
  ),
  "POST /api/sandbox-runs": account(
    {
      operationId: "runInSandbox",
      admin: true,
      tags: ["Sandbox runs"],
      summary: "Run a command in a fresh sandbox",
      description:
        "Runs a one-off command in a new sandbox of the server's provider, then destroys the sandbox. A string " +
        "command is split like a shell would (quotes honoured) but never run by one. stdout and stderr are each " +
        "capped at 1 MiB; a command past its timeout is killed (`timed_out`, `exit_code` null).",
      body: SandboxRunInput,
      answers: { 200: { description: "What the command printed and how it ended.", schema: SandboxRunResult } },
      errors: [400, 401, 404, 413, 429, 502],
    },
    async ({ ctx, input }) => json(await runInSandbox(ctx, input)),
  ),
  "GET /api/tool-approvals": account(
    {
      operationId: "listToolApprovals",
      tags: ["Approvals"],
      summary: "List tool calls waiting for approval (and decided ones)",
      description:
        "Calls of tools whose policy asks for `approval`, newest first: `?status=pending` for those waiting now. " +
        "Without `limit` nor `cursor`, the newest 100 only; page with `limit` and `cursor` to reach older ones. " +
        "Each waits in the MCP endpoint until decided or `expires_at`.",
      query: ListApprovalsQuery,
      answers: { 200: { description: "The approvals, newest first.", schema: z.array(ToolApproval), paged: true } },
      errors: [400, 401],
    },
    async ({ ctx, input }) => listed(await listApprovals(ctx, input)),
  ),
  "POST /api/tool-approvals/:id/approve": approvalDecision("approved"),
  "POST /api/tool-approvals/:id/reject": approvalDecision("rejected"),
  "GET /api/api-keys": account(
    {
      operationId: "listApiKeys",
      tags: ["API keys"],
      summary: "List the account's API keys",
      description: "Newest first, revoked ones included; each with its prefix, never the key itself.",
      query: PageQuery,
      answers: { 200: { description: "The API keys.", schema: z.array(ApiKey), paged: true } },
      errors: [400, 401],
    },
    async ({ ctx, input }) => listed(await listApiKeys(ctx, input)),
  ),
  "POST /api/api-keys": account(
    {
      operationId: "createApiKey",
      admin: true,
      tags: ["API keys"],
      summary: "Create an API key",
      description: "Answers the key itself this once; Berth keeps only its hash.",
      body: CreateApiKeyInput,
      example: { name: "ci" },
      answers: { 201: { description: "The new key, with `key`.", schema: CreatedApiKey } },
      errors: [400, 401, 413],
    },
    async ({ ctx, input }) => json(await createApiKey(ctx, input), 201),
  ),
  "DELETE /api/api-keys/:id": account(
    {
      operationId: "revokeApiKey",
      admin: true,
      tags: ["API keys"],
      summary: "Revoke an API key",
      description:
        "The key is refused from now on, by the REST API and the MCP endpoints. Revoking a revoked key answers it unchanged.",
      params: ApiKeyIdParams,
      notFound: "No such API key.",
      answers: { 200: { description: "The key, with `revoked_at`.", schema: ApiKey } },
      errors: [401, 404],
    },
    async ({ ctx, id }) => json(await revokeApiKey(ctx, id)),
  ),
  "GET /api/members": account(
    {
      operationId: "listMembers",
      tags: ["Members"],
      summary: "List the account's members",
      description: "Oldest first; `pending` while an invitation is not accepted.",
      query: PageQuery,
      answers: { 200: { description: "The members.", schema: z.array(Member), paged: true } },
      errors: [400, 401],
    },
    async ({ ctx, input }) => listed(await listMembers(ctx, input)),
  ),
  "POST /api/members": account(
    {
      operationId: "inviteMember",
      admin: true,
      tags: ["Members"],
      summary: "Invite a member by email",
      description:
        "A user Berth does not know is created without a password and gets a single-use link (7 days) to choose " +
        "one, answered this once as `invite_url`; a user with a password is simply added. Only an owner invites an " +
        "owner. 409 when they are a member already.",
      body: InviteMemberInput,
      example: { email: "new.member@example.com", role: "member" },
      answers: { 201: { description: "The member, and the invitation link if one was made.", schema: InvitedMember } },
      errors: [400, 401, 409, 413],
    },
    async ({ ctx, input }) => json(await inviteMember(ctx, input), 201),
  ),
  "PATCH /api/members/:userId": account(
    {
      operationId: "setMemberRole",
      admin: true,
      tags: ["Members"],
      summary: "Change a member's role",
      description: "Only an owner makes someone an owner or changes an owner's role; the last owner stays (409).",
      params: MemberParams,
      body: SetMemberRoleInput,
      example: { role: "admin" },
      answers: { 200: { description: "The member with the new role.", schema: Member } },
      errors: [400, 401, 404, 409, 413],
    },
    async ({ ctx, params, input }) => json(await setMemberRole(ctx, params.userId ?? "", input.role)),
  ),
  "DELETE /api/members/:userId": account(
    {
      operationId: "removeMember",
      admin: true,
      tags: ["Members"],
      summary: "Remove a member",
      description: "Only an owner removes an owner; the last owner cannot be removed (409).",
      params: MemberParams,
      answers: { 200: { description: "The member as they were.", schema: Member } },
      errors: [401, 404, 409],
    },
    async ({ ctx, params }) => json(await removeMember(ctx, params.userId ?? "")),
  ),
  "GET /api/account": account(
    {
      operationId: "getAccountSettings",
      tags: ["Account"],
      summary: "The account's name and settings",
      answers: { 200: { description: "The account.", schema: AccountSettings } },
      errors: [401],
    },
    async ({ ctx }) => json(await getAccountSettings(ctx)),
  ),
  "PATCH /api/account": account(
    {
      operationId: "updateAccountSettings",
      admin: true,
      tags: ["Account"],
      summary: "Change the account's name or settings",
      description:
        "Fields left out stay as they are. `default_timeout` (60 to 86400 s, or null for each server's own) is the " +
        "lifetime of connections installed afterwards without a `timeout`.",
      body: UpdateAccountSettingsInput,
      example: { default_timeout: 7200 },
      answers: { 200: { description: "The account.", schema: AccountSettings } },
      errors: [400, 401, 413],
    },
    async ({ ctx, input }) => json(await updateAccountSettings(ctx, input)),
  ),
  "GET /api/usage": account(
    {
      operationId: "getUsage",
      tags: ["Account"],
      summary: "Metered use of a period (for billing)",
      description:
        "Sandbox-seconds and tool calls of the account in `[from, to)`, in total and per connection (deleted ones " +
        "included), plus one-off sandbox-runs. A connection's sandbox counts while it is `running` (from its " +
        "sandbox's start); a sleeping, expired or failed one accrues nothing; one still running counts up to now. " +
        "Tool calls count when recorded (within about a second of the answer). Default period: this UTC month so far.",
      query: UsageQuery,
      answers: { 200: { description: "The account's usage.", schema: Usage } },
      errors: [400, 401, 404],
    },
    async ({ ctx, input }) => json(await getUsage(ctx, input)),
  ),
  "POST /api/mcp/:id": mcp(
    "mcpPost",
    "Send MCP JSON-RPC messages",
    "The connection's MCP endpoint (MCP Streamable HTTP, JSON-RPC 2.0); point an MCP client at the connection's " +
      "`mcp_url`. It keeps working across restarts and sandbox replacement. Start with an `initialize` request " +
      "and send the `Mcp-Session-Id` it answers with on every later request. A connection that is not running " +
      "answers 409 `connection_not_running`, unless it has `keep_alive` and is brought back by the request. " +
      "Authenticate with an API key or an OAuth access token issued for this endpoint; a 401's `WWW-Authenticate` " +
      "names the endpoint's OAuth protected-resource metadata (RFC 9728), from which an MCP client finds Berth's " +
      "authorization server (`/.well-known/oauth-authorization-server`).",
    true,
    [400, 401, 404, 406, 409, 413, 415, 429],
  ),
  "GET /api/mcp/:id": mcp(
    "mcpGet",
    "Open the server-to-client event stream",
    "Server-sent events of an MCP session.",
    false,
    [400, 401, 404, 406],
  ),
  "DELETE /api/mcp/:id": mcp(
    "mcpDelete",
    "End an MCP session",
    "Closes the MCP session named by `Mcp-Session-Id`.",
    false,
    [400, 401, 404],
  ),
  "POST /api/maintenance": open(
    {
      access: "service",
      operationId: "runMaintenance",
      tags: ["Meta"],
      summary: "Run one maintenance sweep",
      description:
        "Extends keep-alive connections, expires the others, restarts crashed ones and reaps orphan sandboxes, once. " +
        "Berth's own process runs it every `BERTH_MAINTENANCE_INTERVAL_MS`; where nothing runs for long (the Edge " +
        "Function), a scheduler calls it (pg_cron). Only with the service key (`SUPABASE_SERVICE_ROLE_KEY`). " +
        "Answers counts, among them `extended`, `expired` and `extensions_left_due` (keep-alive extensions the " +
        "provider refused: left due for the next sweep).",
      answers: { 200: { description: "What the sweep did.", schema: z.record(z.string(), z.unknown()) } },
      errors: [401],
    },
    async (_req, deps) => json(await deps.maintain()),
  ),
  "GET /api/metrics": open(
    {
      access: "operator",
      live: true,
      operationId: "metrics",
      tags: ["Meta"],
      summary: "Prometheus metrics (the operator's)",
      description:
        "Prometheus text format: connections by status and provider, deploy and wake durations, tool calls, errors " +
        "and latency by server, sandbox-seconds by account, maintenance lag (docs/OPERATIONS.md). It spans accounts, " +
        "so only the operator's `BERTH_METRICS_TOKEN` reads it; without one set the route answers 404.",
      answers: { 200: { description: "The metrics.", content: { "text/plain; version=0.0.4": {} } } },
      errors: [401, 404],
    },
    async (_req, deps) => {
      const { contentType, body } = await (deps.operator as NonNullable<typeof deps.operator>).metrics();
      return new Response(body, { headers: { "content-type": contentType, "cache-control": "no-store" } });
    },
  ),
  "GET /api/health": open(
    {
      access: "public",
      operationId: "health",
      tags: ["Meta"],
      summary: "Readiness",
      description:
        'Answers `{"status":"ok"}` to anyone once ready; authenticated callers also get `database` and `sandbox` (`{provider, isolated}`).',
      answers: {
        200: {
          description: "Ready.",
          content: {
            "application/json": {
              schema: z
                .looseObject({ status: z.literal("ok") })
                .meta({ description: "More fields for authenticated callers." }),
            },
          },
        },
      },
      errors: [],
    },
    // Probes and load balancers carry no key; the details only for an authenticated caller.
    async (req, deps) => {
      const principal = await deps.authenticate(req);
      return Response.json({ status: "ok", ...(principal ? await deps.health() : {}) });
    },
  ),
  "GET /api/openapi.json": open(
    {
      access: "public",
      operationId: "openapi",
      tags: ["Meta"],
      summary: "This OpenAPI 3.1 document",
      answers: { 200: { description: "The OpenAPI document.", content: { "application/json": {} } } },
      errors: [],
    },
    async (_req, deps): Promise<Response> =>
      Response.json(buildOpenApiDocument(ROUTES, deps.publicUrl), { headers: { "cache-control": "no-cache" } }),
  ),
  "GET /api/docs": open(
    {
      access: "public",
      operationId: "docs",
      tags: ["Meta"],
      summary: "A reference page of this API",
      answers: { 200: { description: "An HTML page.", content: { "text/html": {} } } },
      errors: [],
    },
    async (_req, deps): Promise<Response> =>
      new Response(buildDocsPage(ROUTES, deps.publicUrl), {
        headers: { "content-type": "text/html; charset=utf-8", "cache-control": "no-cache" },
      }),
  ),
} satisfies Record<string, Route>;

export type Routes = typeof ROUTES;
export type RouteKey = keyof Routes;

/** What a route answers in `data` on success, from its answer schemas (for the browser client). */
export type AnswerOf<K extends RouteKey> = {
  [S in Extract<keyof Routes[K]["answers"], number>]: Routes[K]["answers"][S] extends {
    schema: infer T extends z.ZodType;
  }
    ? z.output<T>
    : never;
}[Extract<keyof Routes[K]["answers"], number>];

/** What a route takes as its JSON body. */
export type BodyOf<K extends RouteKey> = Routes[K] extends { body: infer B extends z.ZodType } ? z.input<B> : never;
