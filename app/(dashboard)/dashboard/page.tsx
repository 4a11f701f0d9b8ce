import { TriangleAlert } from "lucide-react";
import type { Metadata } from "next";
import { ServerCard } from "@/components/catalogue/server-card";
import { ConnectionsTable } from "@/components/connections/connections-table";
import { Alert, AlertDescription, AlertTitle } from "@/components/ui/alert";
import { getAppDeps } from "@/lib/app-deps";
import { requireCurrentUser, userContext } from "@/lib/auth/current-user";
import { toConnectionJson } from "@/lib/core/schemas/connection";
import { toServerDefinitionJson } from "@/lib/core/schemas/server-definition";
import { listAccountConnections } from "@/lib/core/services/connections/list";
import { listDefinitions } from "@/lib/core/services/definitions/definitions";

export const metadata: Metadata = { title: "Dashboard · Berth" };

export default async function DashboardPage() {
  const user = await requireCurrentUser();
  const ctx = userContext(user);
  const { providerInfo } = getAppDeps();
  const [definitions, connections] = await Promise.all([listDefinitions(ctx), listAccountConnections(ctx, {})]);

  return (
    <div className="grid gap-10">
      <div className="grid gap-1">
        <h1 className="text-2xl font-semibold tracking-tight">{user.accountName}</h1>
        <p className="text-muted-foreground text-sm">MCP servers running in sandboxes for this account.</p>
      </div>

      {!providerInfo.isolated && (
        <Alert className="border-amber-300 bg-amber-50 text-amber-900">
          <TriangleAlert />
          <AlertTitle>Sandboxes are not isolated on this host</AlertTitle>
          <AlertDescription className="text-amber-800">
            The “{providerInfo.name}” provider runs MCP servers as plain processes on this machine, with no isolation
            from it or from each other. Only run servers you trust.
          </AlertDescription>
        </Alert>
      )}

      <section className="grid gap-4" aria-labelledby="connections-heading">
        <h2 id="connections-heading" className="text-lg font-semibold">
          Connections
        </h2>
        <ConnectionsTable
          accountId={user.accountId}
          initialData={connections.map((row) =>
            toConnectionJson(row, { publicUrl: ctx.publicUrl, isolated: providerInfo.isolated }),
          )}
        />
      </section>

      <section className="grid gap-4" aria-labelledby="catalogue-heading">
        <h2 id="catalogue-heading" className="text-lg font-semibold">
          Catalogue
        </h2>
        <div className="grid gap-4 sm:grid-cols-2 lg:grid-cols-3">
          {definitions.map((row) => (
            <ServerCard key={row.id} definition={toServerDefinitionJson(row)} />
          ))}
        </div>
      </section>
    </div>
  );
}
