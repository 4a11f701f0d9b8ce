import type { ApiKeyScope, Ctx } from "@/lib/core/context";
import { BerthError } from "@/lib/core/errors";
import { parseInput } from "@/lib/core/http/input";
import { type Listed, type PageQuery, pageOf, TimeAndId, toPage } from "@/lib/core/pagination";
import { type ApiKey, CreateApiKeyInput, type CreatedApiKey, toApiKeyJson } from "@/lib/core/schemas/api-key";
import { generateApiKey, hashApiKey } from "@/lib/crypto/api-keys";
import type { Db } from "@/lib/db/db";
import { isUuid } from "@/lib/db/ids";
import { getAccount } from "@/lib/db/queries/accounts";
import { insertApiKey, listApiKeysOfAccount, revokeApiKeyRow } from "@/lib/db/queries/api-keys";
import { requireAdmin } from "./scope";

/** What the key services need of a context: any Ctx will do (the CLI builds a smaller one). */
export type ApiKeysCtx = Pick<Ctx, "db" | "accountId" | "actor" | "role" | "onApiKeyRevoked">;

/** The account's API keys, revoked ones included, newest first; never a key or its hash. Any member may look. */
export async function listApiKeys(ctx: ApiKeysCtx, query: PageQuery = {}): Promise<Listed<ApiKey>> {
  const page = pageOf(query, "api_keys", TimeAndId);
  const rows = await listApiKeysOfAccount(ctx.db, { accountId: ctx.accountId, page });
  return toPage(
    rows,
    page,
    "api_keys",
    (r) => [r.page_at, r.id],
    (shown) => shown.map(toApiKeyJson),
  );
}

/** A new key of the account (owners and admins): the key itself is answered this once, only its hash is kept. */
export async function createApiKey(ctx: ApiKeysCtx, input: CreateApiKeyInput): Promise<CreatedApiKey> {
  requireAdmin(ctx);
  const { name, scope } = parseInput(CreateApiKeyInput, input);
  if (!(await getAccount(ctx.db, { accountId: ctx.accountId }))) throw new BerthError("not_found", "No such account.");
  return issueApiKey(ctx.db, { accountId: ctx.accountId, name, scope });
}

/**
 * Revokes one of the account's keys (owners and admins); another account's or an unknown id is
 * not found. Revoking a revoked key answers it as it is. The key stops working at once in this
 * process: `onApiKeyRevoked` drops it from the MCP gateway's cache; other instances on PostgreSQL
 * drop it when the database's notification reaches them (lib/db/notifications.ts).
 */
export async function revokeApiKey(ctx: ApiKeysCtx, id: string): Promise<ApiKey> {
  requireAdmin(ctx);
  const row = isUuid(id) ? await revokeApiKeyRow(ctx.db, { accountId: ctx.accountId, id }) : undefined;
  if (!row) throw new BerthError("not_found", "No such API key.");
  ctx.onApiKeyRevoked?.(row.id);
  return toApiKeyJson(row);
}

/** Makes and stores a key, no questions asked (account creation, inside its transaction). */
export async function issueApiKey(
  db: Db,
  { accountId, name, scope }: { accountId: string; name: string; scope?: ApiKeyScope },
) {
  const { key, prefix } = generateApiKey();
  const row = await insertApiKey(db, { accountId, name, prefix, scope, keyHash: await hashApiKey(key) });
  const { revoked_at: _r, last_used_at: _l, ...shown } = toApiKeyJson(row);
  return { ...shown, key };
}
