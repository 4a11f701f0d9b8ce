import type { Metadata } from "next";
import Link from "next/link";
import { notFound } from "next/navigation";
import { InstallForm } from "@/components/catalogue/install-form";
import { requireCurrentUser, userContext } from "@/lib/auth/current-user";
import { isBerthError } from "@/lib/core/errors";
import { toServerDefinitionJson } from "@/lib/core/schemas/server-definition";
import { getDefinition } from "@/lib/core/services/definitions/definitions";

export const metadata: Metadata = { title: "Install · Berth" };

export default async function InstallPage({ params }: { params: Promise<{ server: string }> }) {
  const { server } = await params;
  const user = await requireCurrentUser();
  const row = await getDefinition(userContext(user), server).catch((err) => {
    if (isBerthError(err) && err.code === "not_found") notFound();
    throw err;
  });

  return (
    <div className="grid max-w-2xl gap-6">
      <Link href="/dashboard" className="text-muted-foreground text-sm hover:underline">
        ← Dashboard
      </Link>
      <InstallForm accountId={user.accountId} definition={toServerDefinitionJson(row)} />
    </div>
  );
}
