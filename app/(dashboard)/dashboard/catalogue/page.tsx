import { Plus } from "lucide-react";
import type { Metadata } from "next";
import Link from "next/link";
import { CatalogueBrowser } from "@/components/catalogue/catalogue-browser";
import { Button } from "@/components/ui/button";
import { requireCurrentUser, userContext } from "@/lib/auth/current-user";
import { toServerDefinitionJson } from "@/lib/core/schemas/server-definition";
import { listAccountConnections } from "@/lib/core/services/connections/list";
import { canEditCatalogue, isBuiltIn, listDefinitions } from "@/lib/core/services/definitions/definitions";

export const metadata: Metadata = { title: "Catalogue · Berth" };

export default async function CataloguePage() {
  const user = await requireCurrentUser();
  const ctx = userContext(user);
  const [{ data: definitions }, { data: connections }, operator] = await Promise.all([
    listDefinitions(ctx),
    listAccountConnections(ctx, {}),
    canEditCatalogue(ctx),
  ]);
  const installed = new Set(connections.map((c) => c.server_slug));

  return (
    <div className="grid gap-6">
      <div className="flex flex-wrap items-end justify-between gap-3">
        <div className="grid gap-1">
          <h1 className="text-2xl font-semibold tracking-tight">Catalogue</h1>
          <p className="text-muted-foreground text-sm">
            MCP servers this Berth can run.{" "}
            {operator ? "As an operator you add, edit and remove them here" : "Operators add their own"}, or with{" "}
            <code>npx berth servers add</code>.
          </p>
        </div>
        {operator && (
          <Button asChild>
            <Link href="/dashboard/catalogue/new">
              <Plus aria-hidden />
              Add a server
            </Link>
          </Button>
        )}
      </div>
      <CatalogueBrowser
        canInstall={user.role !== "member"}
        canEdit={operator}
        entries={definitions.map((row) => ({
          definition: toServerDefinitionJson(row),
          builtIn: isBuiltIn(row),
          installed: installed.has(row.slug),
        }))}
      />
    </div>
  );
}
