import { z } from "zod";
import type { Deps } from "@/lib/core/context";
import { envNameProblem } from "@/lib/core/env-names";
import { unstorableText } from "@/lib/core/unstorable-text";
import type { ServerFields, ServerRow } from "@/lib/db/queries/servers";
import { Seconds } from "./common";
import { UpstreamOAuth } from "./upstream-oauth";

/** Names a server's environment may hold, one issue per refused one. */
function checkEnvNames(names: string[], ctx: z.RefinementCtx, path: string[]) {
  for (const name of names) {
    const problem = envNameProblem(name);
    if (problem) ctx.addIssue({ code: "custom", path: [...path, name], message: problem });
  }
}

/** A JSON Schema object whose properties become the server's environment variables. */
export const CredentialSchema = z
  .looseObject({
    type: z.literal("object"),
    properties: z.record(z.string(), z.looseObject({})).default({}),
    required: z.array(z.string()).optional(),
  })
  .superRefine((schema, ctx) => {
    checkEnvNames(Object.keys(schema.properties), ctx, ["properties"]);
    try {
      z.fromJSONSchema(schema as Parameters<typeof z.fromJSONSchema>[0]);
    } catch (err) {
      ctx.addIssue({ code: "custom", message: `Not a usable JSON Schema: ${(err as Error).message}` });
    }
  })
  .meta({
    description: "JSON Schema (type object). Each property is passed as the environment variable of that name.",
  });

/**
 * One tool call a credential test (`dry_run`) makes after `tools/list`: a cheap authenticated call,
 * so that bad credentials fail the test instead of the first real tool call.
 */
export const DefinitionCheck = z
  .strictObject({
    tool: z.string().min(1).max(200).meta({ description: "The tool to call; it must be among the server's tools." }),
    arguments: z
      .record(z.string(), z.unknown())
      .default({})
      .meta({ description: "Its arguments; a cheap call, the smallest page of the cheapest read." }),
    error_text: z.string().min(1).max(200).optional().meta({
      description:
        'For servers that report API failures as ordinary text (Slack\'s `{"ok":false,…}`): a result whose text contains this fails the check too.',
    }),
  })
  .meta({
    id: "DefinitionCheck",
    description:
      "The call a credential test makes: an error result (`isError`) or a JSON-RPC error means the credentials do not work.",
  });
export type DefinitionCheck = z.infer<typeof DefinitionCheck>;

/** Shown in the catalogue before anyone installs the server; Berth does not enforce it. */
const DefinitionTools = z
  .array(z.string().trim().min(1).max(200))
  .max(500)
  .refine((names) => new Set(names).size === names.length, "Each tool once.")
  .meta({ description: "The names of the tools the server offers, for the catalogue (as its `tools/list` answers)." });

export const ServerDefinitionInput = z
  .strictObject({
    slug: z.string().regex(/^[a-z0-9][a-z0-9-]{0,62}$/, "Lowercase letters, digits and dashes, at most 63."),
    title: z.string().trim().min(1).max(200),
    description: z.string().max(2000).default(""),
    start_command: z.string().trim().min(1).max(2000),
    credential_schema: CredentialSchema.default({ type: "object", properties: {} }),
    default_timeout: Seconds.default(3600),
    version: z.string().min(1).max(100).default("1"),
    env: z
      .record(z.string(), z.string().max(4000))
      .default({})
      .superRefine((env, ctx) => checkEnvNames(Object.keys(env), ctx, []))
      .meta({ description: "Non-secret environment; `{home}` is replaced by the sandbox's home directory." }),
    network: z.boolean().default(false).meta({ description: "Whether the server needs outbound internet access." }),
    transport: z.enum(["stdio", "streamable-http"]).default("stdio").meta({
      description:
        "How the server speaks MCP: on its stdio, or over Streamable HTTP it serves itself inside the sandbox on `port` (its `PORT` environment variable unless `env` sets one) at `path`.",
    }),
    port: z
      .number()
      .int()
      .min(1)
      .max(65535)
      .optional()
      .meta({ description: "streamable-http only: the port it listens on." }),
    path: z
      .string()
      .regex(/^\/[\w\-./~%]*$/, "A path starting with /, like /mcp.")
      .max(200)
      .optional()
      .meta({ description: "streamable-http only: the MCP endpoint's path; default `/mcp`." }),
    check: DefinitionCheck.optional(),
    tools: DefinitionTools.optional(),
    oauth: UpstreamOAuth.optional().meta({
      description:
        'Offers "Connect with <provider>" instead of pasting the credentials its `env` names; Berth keeps the token fresh.',
    }),
  })
  .superRefine((definition, ctx) => {
    if (definition.transport === "streamable-http" && definition.port === undefined)
      ctx.addIssue({
        code: "custom",
        path: ["port"],
        message: "A streamable-http server needs the port it listens on.",
      });
    if (definition.transport === "stdio")
      for (const key of ["port", "path"] as const)
        if (definition[key] !== undefined)
          ctx.addIssue({ code: "custom", path: [key], message: "Only for a streamable-http server." });
    if (definition.check && definition.tools && !definition.tools.includes(definition.check.tool))
      ctx.addIssue({ code: "custom", path: ["check", "tool"], message: "Not among the tools it declares." });
    const declared: object = definition.credential_schema?.properties ?? {};
    for (const name of Object.keys(definition.oauth?.env ?? {}))
      if (!Object.hasOwn(declared, name))
        ctx.addIssue({
          code: "custom",
          path: ["oauth", "env", name],
          message: "Not a property of the credential schema.",
        });
    for (const { path, message } of unstorableText(definition)) {
      ctx.addIssue({ code: "custom", path: path.split("."), message });
    }
  })
  .meta({ id: "ServerDefinitionInput" });
export type ServerDefinitionInput = z.infer<typeof ServerDefinitionInput>;

export const ServerDefinition = z
  .object({
    id: z.uuid(),
    slug: z.string(),
    title: z.string(),
    description: z.string(),
    start_command: z.string(),
    credential_schema: z.record(z.string(), z.unknown()),
    default_timeout: z.number().int(),
    version: z.string(),
    env: z.record(z.string(), z.string()),
    network: z.boolean(),
    transport: z.enum(["stdio", "streamable-http"]),
    port: z.number().int().optional(),
    path: z.string().optional(),
    check: DefinitionCheck.optional(),
    tools: z.array(z.string()).optional(),
    oauth: UpstreamOAuth.extend({
      configured: z.boolean().meta({
        description: "Whether this Berth has a client registered with the provider: the flow can run.",
      }),
    }).optional(),
  })
  .meta({ id: "ServerDefinition" });
export type ServerDefinition = z.infer<typeof ServerDefinition>;

/** `clients`: Berth's OAuth apps by slug (configuration), to say whether "Connect with …" can run. */
export function toServerDefinitionJson(row: ServerRow, clients: Deps["upstreamOAuthClients"] = {}): ServerDefinition {
  return {
    id: row.id,
    slug: row.slug,
    title: row.title,
    description: row.description,
    start_command: row.start_command,
    credential_schema: row.credential_schema,
    default_timeout: row.default_timeout,
    version: row.version,
    env: row.env,
    network: row.network,
    transport: row.transport,
    ...(row.transport === "streamable-http" ? { port: row.port ?? undefined, path: row.path ?? "/mcp" } : {}),
    ...(row.credential_check ? { check: row.credential_check } : {}),
    ...(row.tools ? { tools: row.tools } : {}),
    ...(row.oauth ? { oauth: { ...row.oauth, configured: Object.hasOwn(clients, row.slug) } } : {}),
  };
}

/**
 * A definition as stored: a streamable-http server's path defaults to /mcp; stdio has neither. The
 * check is the column `credential_check` (`check` is a reserved word in SQL).
 */
export function serverFieldsOf({ check, tools, oauth, ...input }: ServerDefinitionInput): ServerFields {
  const http = input.transport === "streamable-http";
  return {
    ...input,
    port: http ? (input.port ?? null) : null,
    path: http ? (input.path ?? "/mcp") : null,
    credential_check: check ?? null,
    tools: tools ?? null,
    oauth: oauth ?? null,
  };
}
