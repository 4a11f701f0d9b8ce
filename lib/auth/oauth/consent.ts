import type { Ctx } from "@/lib/core/context";
import { BerthError } from "@/lib/core/errors";
import { isUuid } from "@/lib/db/ids";
import { getConnection } from "@/lib/db/queries/connections";
import { getOAuthClient, getOAuthRequest } from "@/lib/db/queries/oauth";
import type { BerthOAuthProvider } from "./provider";

/** What the consent page shows: who asks, for which connection of the user's current account. */
export async function describeConsent(ctx: Ctx, requestId: string) {
  const request = isUuid(requestId) ? await getOAuthRequest(ctx.db, requestId) : undefined;
  if (!request) return undefined;
  const connection = await getConnection(ctx.db, { accountId: ctx.accountId, id: request.connection_id });
  const client = (await getOAuthClient(ctx.db, request.client_id)) as { client_name?: string; client_uri?: string };
  return {
    // Registration refuses such names; stripped here too, so no name can read as another.
    clientName: client?.client_name?.replace(/[\p{Cc}\p{Cf}]/gu, "").slice(0, 100) || "An MCP client",
    clientUri: client?.client_uri,
    redirectHost: new URL(request.redirect_uri).host,
    connection: connection && { id: connection.id, name: connection.name, server: connection.server_slug },
  };
}

/**
 * The signed-in user's answer: where the browser goes next (the client's redirect URI, with a
 * code or `access_denied`). Only a member of the connection's account can give it, once.
 */
export async function answerConsent(ctx: Ctx, oauth: BerthOAuthProvider, requestId: string, allow: boolean) {
  if (ctx.actor.kind !== "user") throw new BerthError("forbidden", "Only a signed-in person can consent.");
  const described = await describeConsent(ctx, requestId);
  if (!described)
    throw new BerthError("not_found", "This request has expired or was answered; start again from your client.");
  if (!described.connection) throw new BerthError("not_found", "No such connection in this account.");
  const next = await oauth.consent(requestId, { accountId: ctx.accountId, userId: ctx.actor.userId }, allow);
  if (!next)
    throw new BerthError("not_found", "This request has expired or was answered; start again from your client.");
  return { redirect: next };
}
