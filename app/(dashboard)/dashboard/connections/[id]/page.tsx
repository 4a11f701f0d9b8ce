import type { Metadata } from "next";
import Link from "next/link";
import { notFound } from "next/navigation";
import { ConnectionDetail } from "@/components/connections/connection-detail";
import { requireCurrentUser, userContext } from "@/lib/auth/current-user";
import { isBerthError } from "@/lib/core/errors";
import { toServerDefinitionJson } from "@/lib/core/schemas/server-definition";
import { getConnectionOrThrow } from "@/lib/core/services/connections/get";
import { presentConnection } from "@/lib/core/services/connections/present";
import { getDefinition } from "@/lib/core/services/definitions/definitions";

export const metadata: Metadata = { title: "Connection · Berth" };

export default async function ConnectionPage({ params }: { params: Promise<{ id: string }> }) {
  const { id } = await params;
  const user = await requireCurrentUser();
  const ctx = userContext(user);
  const row = await getConnectionOrThrow(ctx, id).catch((err) => {
    if (isBerthError(err) && err.code === "not_found") notFound();
    throw err;
  });

  // Also when an operator has removed it from the catalogue since: the connection still runs it.
  const definition = await getDefinition(ctx, row.server_id, { includeRemoved: true });

  return (
    <div className="grid gap-6">
      <Link href="/dashboard" className="text-muted-foreground w-fit text-sm hover:underline">
        ← All connections
      </Link>
      <ConnectionDetail
        accountId={user.accountId}
        role={user.role}
        initialData={await presentConnection(ctx, row)}
        definition={toServerDefinitionJson(definition, ctx.upstreamOAuthClients)}
      />
    </div>
  );
}
