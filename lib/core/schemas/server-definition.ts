import { z } from "zod";
import { envNameProblem } from "@/lib/core/env-names";
import { nulPaths } from "@/lib/core/nul-paths";
import type { ServerRow } from "@/lib/db/queries/servers";
import { Seconds } from "./common";

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
    // PostgreSQL stores no NUL, and argv and environments end at one.
    for (const at of nulPaths(definition)) {
      ctx.addIssue({ code: "custom", path: at.split("."), message: "Must not contain a NUL character." });
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
  })
  .meta({ id: "ServerDefinition" });
export type ServerDefinition = z.infer<typeof ServerDefinition>;

export function toServerDefinitionJson(row: ServerRow): ServerDefinition {
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
  };
}

/** A definition as stored: a streamable-http server's path defaults to /mcp; stdio has neither. */
export function serverFieldsOf(input: ServerDefinitionInput) {
  const http = input.transport === "streamable-http";
  return { ...input, port: http ? (input.port ?? null) : null, path: http ? (input.path ?? "/mcp") : null };
}
