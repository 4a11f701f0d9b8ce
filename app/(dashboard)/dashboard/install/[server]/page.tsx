import type { Metadata } from "next";
import Link from "next/link";
import { notFound } from "next/navigation";
import { InstallForm } from "@/components/catalogue/install-form";
import { Alert, AlertDescription, AlertTitle } from "@/components/ui/alert";
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
      <Link href="/dashboard/catalogue" className="text-muted-foreground w-fit text-sm hover:underline">
        ← Catalogue
      </Link>
      {user.role === "member" ? (
        <Alert>
          <AlertTitle>Members cannot install servers</AlertTitle>
          <AlertDescription>
            Ask an owner or admin of {user.accountName} to install {row.title}.
          </AlertDescription>
        </Alert>
      ) : (
        <InstallForm definition={toServerDefinitionJson(row, userContext(user).upstreamOAuthClients)} />
      )}
    </div>
  );
}
