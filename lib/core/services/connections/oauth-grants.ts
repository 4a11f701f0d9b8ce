import type { Ctx } from "@/lib/core/context";
import { BerthError } from "@/lib/core/errors";
import { type PageQuery, pageOf, TimeAndId, toPage } from "@/lib/core/pagination";
import { isUuid } from "@/lib/db/ids";
import { listOAuthGrants, type OAuthGrantRow, revokeOAuthGrant } from "@/lib/db/queries/oauth";
import { requireAdmin } from "../scope";
import { getConnectionOrThrow } from "./get";

/** The MCP clients people of the account allowed (OAuth) to use this connection, while their grant lives. */
export async function listGrants(ctx: Ctx, id: string, query: PageQuery = {}) {
  await getConnectionOrThrow(ctx, id);
  const page = pageOf(query, "oauth_grants", TimeAndId);
  const rows = await listOAuthGrants(ctx.db, { accountId: ctx.accountId, connectionId: id, page });
  return toPage(
    rows,
    page,
    "oauth_grants",
    (r) => [r.page_at, r.family_id],
    (shown) => shown.map(presentGrant),
  );
}

/** Revokes a client's grant at once: its access and refresh tokens stop working. Owners and admins only. */
export async function revokeGrant(ctx: Ctx, id: string, grantId: string) {
  requireAdmin(ctx);
  await getConnectionOrThrow(ctx, id);
  const revoked =
    isUuid(grantId) &&
    (await revokeOAuthGrant(ctx.db, { accountId: ctx.accountId, connectionId: id, familyId: grantId }));
  if (!revoked) throw new BerthError("not_found", "No such grant.");
  return { id: grantId, revoked: true };
}

function presentGrant(row: OAuthGrantRow) {
  return {
    id: row.family_id,
    client_name: row.client_name ?? "An MCP client",
    user_id: row.user_id,
    email: row.email,
    created_at: row.created_at.toISOString(),
    last_issued_at: row.last_issued_at.toISOString(),
  };
}
