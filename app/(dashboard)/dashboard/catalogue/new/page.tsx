import type { Metadata } from "next";
import Link from "next/link";
import { DefinitionEditor } from "@/components/catalogue/definition-editor";
import { OperatorsOnly } from "@/components/catalogue/operators-only";
import { requireCurrentUser, userContext } from "@/lib/auth/current-user";
import { canEditCatalogue } from "@/lib/core/services/definitions/definitions";

export const metadata: Metadata = { title: "Add a server · Berth" };

export default async function NewDefinitionPage() {
  const operator = await canEditCatalogue(userContext(await requireCurrentUser()));
  return (
    <div className="grid gap-6">
      <Link href="/dashboard/catalogue" className="text-muted-foreground w-fit text-sm hover:underline">
        ← Catalogue
      </Link>
      {operator ? <DefinitionEditor /> : <OperatorsOnly />}
    </div>
  );
}
