import { z } from "zod";
import { PageParams } from "@/lib/core/pagination";
import type { ConnectionRow } from "@/lib/db/queries/connections";
import type { EventRow } from "@/lib/db/queries/events";
import { Id, iso, Seconds } from "./common";

/**
 * Credentials are scrubbed from every error and stderr Berth shows, which costs time in proportion
 * to their length, on the event loop all tenants share: real keys and tokens are far shorter.
 */
const MAX_CREDENTIAL_CHARS = 4096;
const MAX_CREDENTIALS_CHARS = 16384;

export const Credentials = z
  .record(
    z.string(),
    z.union([
      z.string().max(MAX_CREDENTIAL_CHARS, `At most ${MAX_CREDENTIAL_CHARS} characters.`),
      z.number(),
      z.boolean(),
    ]),
  )
  .refine((c) => Object.values(c).reduce<number>((n, v) => n + String(v).length, 0) <= MAX_CREDENTIALS_CHARS, {
    message: `At most ${MAX_CREDENTIALS_CHARS} characters in all.`,
  })
  .meta({ description: "Values for the server's credential_schema. Write-only: never returned." });

export const InstallInput = z
  .strictObject({
    account_id: Id,
    server_id: z.string().min(1).max(100).meta({ description: "Server definition id or slug." }),
    credentials: Credentials.default({}),
    name: z
      .string()
      .trim()
      .min(1)
      .max(200)
      .optional()
      .meta({ description: "Display name; defaults to the server's title." }),
    timeout: Seconds.optional().meta({
      description: "Lifetime in whole seconds (1 to 86400); defaults to the server's default_timeout.",
    }),
    keep_alive: z
      .boolean()
      .default(true)
      .meta({ description: "Extend the connection automatically before it expires while it is running." }),
    dry_run: z.boolean().default(false).meta({
      description:
        "Start the server, list its tools, make the definition's `check` call (if it has one) to test the credentials, tear it down; store nothing.",
    }),
    auth: z
      .enum(["credentials", "oauth"])
      .default("credentials")
      .meta({
        description:
          "`oauth`: connect through the provider the definition's `oauth` names instead of pasting the credentials it " +
          "fills; give only the others. The connection is stored `auth_required` and deploys once authorized " +
          "(`POST /api/mcp-connections/:id/authorize`).",
      }),
  })
  .meta({ id: "InstallInput" });
/** As services take it: `auth` may be left out (pasted credentials). */
export type InstallInput = Omit<z.infer<typeof InstallInput>, "auth"> & { auth?: "credentials" | "oauth" };

/** The install's optional `Idempotency-Key` header (as in the IETF draft and Stripe's API). */
export const InstallHeaders = z.object({
  "idempotency-key": z
    .string()
    .regex(/^[\x21-\x7e]{1,255}$/, "1 to 255 visible ASCII characters.")
    .optional()
    .meta({
      description:
        "Any unique string (a UUID, say). Sent again with the same install, it answers the connection the first " +
        "install made, as it is now (201), instead of making another: safe to retry after a timeout or a 503. " +
        "With another server, other credentials, or another name, timeout or keep_alive given, 409. A deleted " +
        "connection frees its key.",
    }),
});

export const ExtendInput = z
  .strictObject({
    seconds: Seconds.optional().meta({
      description: "Whole seconds (1 to 86400); defaults to the server's default_timeout.",
    }),
  })
  .meta({ id: "ExtendInput" });
export type ExtendInput = z.infer<typeof ExtendInput>;

export const UpdateConnectionInput = z
  .strictObject({
    name: z.string().trim().min(1).max(200).optional().meta({ description: "Display name." }),
    keep_alive: z.boolean().optional().meta({ description: "Extend automatically before expiry while running." }),
  })
  .meta({ id: "UpdateConnectionInput" });
export type UpdateConnectionInput = z.infer<typeof UpdateConnectionInput>;

export const CredentialsInput = z.strictObject({ credentials: Credentials }).meta({ id: "CredentialsInput" });
export type CredentialsInput = z.infer<typeof CredentialsInput>;

export const ListConnectionsQuery = z.strictObject({
  account_id: Id.optional().meta({ description: "Your account's id; another account's id answers 404." }),
  ...PageParams,
});

export const ConnectionStatus = z.enum([
  "deploying",
  "running",
  "failed",
  "expired",
  "deleted",
  "auth_required",
  "sleeping",
]);

export const Connection = z
  .object({
    id: z.uuid(),
    account_id: z.uuid(),
    server_id: z.uuid(),
    server_slug: z.string(),
    name: z.string(),
    status: ConnectionStatus.meta({
      description:
        "deploying → running or failed; running → expired; restart → deploying; delete → deleted. auth_required: " +
        "its server's upstream OAuth authorization is missing or stopped working (refresh refused); connecting " +
        "again (`POST /api/mcp-connections/:id/authorize`) deploys it. sleeping: a keep-alive connection whose MCP " +
        "endpoint had no request for `BERTH_IDLE_SLEEP_SECONDS`, its sandbox paused (E2B) or its server stopped with " +
        "its home kept (local); the next MCP request wakes it (→ deploying → running) and is answered.",
    }),
    provider: z.string(),
    sandbox_id: z.string().nullable(),
    mcp_url: z.url().meta({ description: "The MCP Streamable HTTP endpoint; stable across restarts." }),
    keep_alive: z.boolean(),
    timeout: z.number().int().meta({ description: "Lifetime in seconds, counted from sandbox creation." }),
    isolated: z.boolean().meta({ description: "False when the sandbox provider does not isolate servers." }),
    created_at: z.iso.datetime(),
    updated_at: z.iso.datetime(),
    expires_at: z.iso
      .datetime()
      .meta({ description: "When the sandbox stops unless extended (keep_alive extends it)." }),
    last_error: z.string().nullable(),
    tool_calls: z
      .object({
        count: z.number().int(),
        errors: z.number().int(),
        p50_ms: z.number().nullable().meta({ description: "Median duration of the last 200 calls." }),
      })
      .meta({ description: "Tool calls through the MCP endpoint (audited as `tool_call` events)." }),
  })
  .meta({ id: "Connection" });
export type Connection = z.infer<typeof Connection>;

export function toConnectionJson(
  row: ConnectionRow,
  opts: { publicUrl: string; isolated: boolean; p50?: number },
): Connection {
  return {
    id: row.id,
    account_id: row.account_id,
    server_id: row.server_id,
    server_slug: row.server_slug,
    name: row.name,
    status: row.status,
    provider: row.provider,
    sandbox_id: row.sandbox_id,
    mcp_url: `${opts.publicUrl}/api/mcp/${row.id}`,
    keep_alive: row.keep_alive,
    timeout: row.timeout_seconds,
    isolated: opts.isolated,
    created_at: iso(row.created_at) as string,
    updated_at: iso(row.updated_at) as string,
    expires_at: iso(row.expires_at) as string,
    last_error: row.last_error,
    tool_calls: { count: Number(row.tool_calls), errors: Number(row.tool_errors), p50_ms: opts.p50 ?? null },
  };
}

export const ConnectionEvent = z
  .object({
    id: z.uuid(),
    connection_id: z.uuid(),
    type: z.string().meta({
      description:
        "installed, deploying, running, failed, crashed, extended, expired, restarted, credentials_updated, deleted, " +
        "tool_call, tool_policy_changed, tool_approval, auth_required, authorized, token_refreshed, slept or woke.",
    }),
    created_at: z.iso.datetime(),
    data: z.record(z.string(), z.unknown()).meta({
      description:
        "What happened: `deploying` says why (`reason`: installed, requested, credentials_updated, resumed_by_request, sandbox_lifetime, crash_restart, deploy_abandoned, berth_restarted, adopted, authorized, token_refreshed or woke) and who (`by`: api_key, user or system), as does the `restarted` just before it; `running` names its `sandbox_id`; `failed` and `crashed` their `error` (and `stderr` tail); `expired` its `expires_at`; `tool_policy_changed` who (`by`) and how many tools it allows, denies and overrides; `tool_approval` the `tool`, the name it was `called_as`, the `outcome` (approved, rejected, expired, cancelled) and who decided (`by`); `authorized` and `token_refreshed` the upstream `provider`, when the token `expires_at` and whether it is `refreshable`; `auth_required` the `error` (why a sign-in is needed) and `by`; `slept` how long it was idle (`idle_seconds`); `woke` who woke it (`by`) and whether its sandbox was `paused` (resumed as it was) or is made anew.",
    }),
  })
  .meta({ id: "Event" });

export function toEventJson(row: EventRow) {
  return {
    id: row.id,
    connection_id: row.connection_id,
    type: row.type,
    created_at: iso(row.created_at) as string,
    data: row.data,
  };
}

export const DryRunResult = z
  .object({
    ok: z.literal(true),
    tools: z.array(z.object({ name: z.string(), description: z.string() })),
    checked: z.boolean().meta({
      description:
        "Whether the credentials were checked: the definition's `check` call succeeded. False when the definition declares no check (the server only started and listed its tools).",
    }),
    check: z
      .object({ tool: z.string(), ok: z.literal(true) })
      .optional()
      .meta({ description: "The check call that succeeded; absent when `checked` is false." }),
  })
  .meta({ id: "DryRunResult" });
