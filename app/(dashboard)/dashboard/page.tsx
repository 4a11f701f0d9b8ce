import { TriangleAlert } from "lucide-react";
import type { Metadata } from "next";
import Link from "next/link";
import { ConnectionsList } from "@/components/connections/connections-list";
import { Alert, AlertDescription, AlertTitle } from "@/components/ui/alert";
import { Button } from "@/components/ui/button";
import { getAppDeps } from "@/lib/app-deps";
import { requireCurrentUser, userContext } from "@/lib/auth/current-user";
import { CONNECTIONS_PAGE } from "@/lib/client/connections/connections-query";
import { listAccountConnections } from "@/lib/core/services/connections/list";

export const metadata: Metadata = { title: "Connections · Berth" };

export default async function DashboardPage() {
  const user = await requireCurrentUser();
  const ctx = userContext(user);
  const { providerInfo } = getAppDeps();
  const { data, next_cursor = null } = await listAccountConnections(ctx, { limit: CONNECTIONS_PAGE });

  return (
    <div className="grid gap-8">
      <div className="flex flex-wrap items-end justify-between gap-4">
        <div className="grid gap-1">
          <h1 className="text-2xl font-semibold tracking-tight">{user.accountName}</h1>
          <p className="text-muted-foreground text-sm">MCP servers running in sandboxes for this account.</p>
        </div>
        {user.role !== "member" && (
          <Button asChild>
            <Link href="/dashboard/catalogue">Install a server</Link>
          </Button>
        )}
      </div>

      {!providerInfo.isolated && (
        <Alert className="border-amber-300 bg-amber-50 text-amber-950 dark:border-amber-700 dark:bg-amber-950 dark:text-amber-50">
          <TriangleAlert aria-hidden />
          <AlertTitle>Sandboxes are not isolated on this host</AlertTitle>
          <AlertDescription className="text-amber-950 dark:text-amber-100">
            The “{providerInfo.name}” provider runs MCP servers as plain processes on this machine, with no isolation
            from it or from each other. Only run servers you trust.
          </AlertDescription>
        </Alert>
      )}

      <section className="grid gap-4" aria-labelledby="connections-heading">
        <h2 id="connections-heading" className="text-lg font-semibold">
          Connections
        </h2>
        <ConnectionsList accountId={user.accountId} initialPage={{ data, next_cursor }} />
      </section>
    </div>
  );
}
