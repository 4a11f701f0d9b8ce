import type { Metadata } from "next";
import Link from "next/link";
import { notFound } from "next/navigation";
import { DefinitionEditor } from "@/components/catalogue/definition-editor";
import { OperatorsOnly } from "@/components/catalogue/operators-only";
import { requireCurrentUser, userContext } from "@/lib/auth/current-user";
import { isBerthError } from "@/lib/core/errors";
import { toServerDefinitionJson } from "@/lib/core/schemas/server-definition";
import {
  canEditCatalogue,
  countDefinitionConnections,
  getDefinition,
} from "@/lib/core/services/definitions/definitions";

export const metadata: Metadata = { title: "Edit a server · Berth" };

export default async function EditDefinitionPage({ params }: { params: Promise<{ slug: string }> }) {
  const { slug } = await params;
  const ctx = userContext(await requireCurrentUser());
  const row = await getDefinition(ctx, slug).catch((err) => {
    if (isBerthError(err) && err.code === "not_found") notFound();
    throw err;
  });
  const operator = await canEditCatalogue(ctx);
  return (
    <div className="grid gap-6">
      <Link href="/dashboard/catalogue" className="text-muted-foreground w-fit text-sm hover:underline">
        ← Catalogue
      </Link>
      {operator ? (
        <DefinitionEditor
          initial={toServerDefinitionJson(row)}
          usedBy={await countDefinitionConnections(ctx, row.slug)}
        />
      ) : (
        <OperatorsOnly />
      )}
    </div>
  );
}
