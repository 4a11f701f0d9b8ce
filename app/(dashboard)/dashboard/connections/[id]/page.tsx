import type { Metadata } from "next";
import Link from "next/link";
import { notFound } from "next/navigation";
import { ConnectionDetail } from "@/components/connections/connection-detail";
import { getAppDeps } from "@/lib/app-deps";
import { requireCurrentUser, userContext } from "@/lib/auth/current-user";
import { toConnectionJson } from "@/lib/core/schemas/connection";
import { isUuid } from "@/lib/db/ids";
import { getConnection } from "@/lib/db/queries/connections";

export const metadata: Metadata = { title: "Connection · Berth" };

export default async function ConnectionPage({ params }: { params: Promise<{ id: string }> }) {
  const { id } = await params;
  const user = await requireCurrentUser();
  const ctx = userContext(user);
  const row = isUuid(id) ? await getConnection(ctx.db, { accountId: user.accountId, id }) : undefined;
  if (!row) notFound();
  const { providerInfo } = getAppDeps();

  return (
    <div className="grid gap-6">
      <Link href="/dashboard" className="text-muted-foreground text-sm hover:underline">
        ← All connections
      </Link>
      <ConnectionDetail
        accountId={user.accountId}
        initialData={toConnectionJson(row, { publicUrl: ctx.publicUrl, isolated: providerInfo.isolated })}
      />
    </div>
  );
}
