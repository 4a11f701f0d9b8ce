import { z } from "zod";
import type { ApiKeyRow } from "@/lib/db/queries/api-keys";
import { Id, iso } from "./common";

export const ApiKeyName = z
  .string({ error: "Give the key a name." })
  .trim()
  .min(1, { error: "Give the key a name." })
  .max(100, { error: "At most 100 characters." });

export const ApiKeyScope = z.enum(["admin", "mcp"]).meta({
  description:
    "`admin`: the REST API (as an owner or admin of the account) and every MCP endpoint. `mcp`: MCP endpoints " +
    "only, for agents: the REST API answers it 403, so it can neither change the tool policy it is held to nor " +
    "approve its own calls.",
});

export const CreateApiKeyInput = z
  .strictObject({
    name: ApiKeyName.meta({ description: "What the key is for, e.g. the agent using it." }),
    scope: ApiKeyScope.default("admin"),
  })
  .meta({ id: "CreateApiKeyInput" });
export type CreateApiKeyInput = z.input<typeof CreateApiKeyInput>;

const time = z.string().meta({ description: "ISO 8601 UTC." });

/** An API key as shown: its prefix, never the key or its hash. */
export const ApiKey = z
  .object({
    id: Id,
    name: z.string(),
    prefix: z
      .string()
      .meta({ description: "The key's first characters, to tell keys apart.", example: "berth_AbC123" }),
    created_at: time,
    last_used_at: time.nullable(),
    revoked_at: time.nullable().meta({ description: "Set once revoked; a revoked key is refused at once." }),
    scope: ApiKeyScope,
  })
  .meta({ id: "ApiKey" });
export type ApiKey = z.output<typeof ApiKey>;

export const CreatedApiKey = z
  .object({
    id: Id,
    name: z.string(),
    prefix: z.string(),
    created_at: time,
    scope: ApiKeyScope,
    key: z.string().meta({ description: "The key itself, shown this once: only its hash is kept." }),
  })
  .meta({ id: "CreatedApiKey" });
export type CreatedApiKey = z.output<typeof CreatedApiKey>;

export const ApiKeyIdParams = z.object({ id: z.uuid().meta({ description: "The API key's id." }) });

export function toApiKeyJson(row: ApiKeyRow): ApiKey {
  return {
    id: row.id,
    name: row.name,
    prefix: row.prefix,
    created_at: iso(row.created_at) as string,
    last_used_at: iso(row.last_used_at),
    revoked_at: iso(row.revoked_at),
    scope: row.scope,
  };
}
