import type { Metadata } from "next";
import { ApiKeysManager } from "@/components/api-keys/api-keys-manager";
import { Alert, AlertDescription, AlertTitle } from "@/components/ui/alert";
import { requireCurrentUser, userContext } from "@/lib/auth/current-user";
import { listApiKeys } from "@/lib/core/services/api-keys";

export const metadata: Metadata = { title: "API keys · Berth" };

export default async function ApiKeysPage() {
  const user = await requireCurrentUser();
  const admin = user.role !== "member";
  return (
    <div className="grid gap-6">
      <div className="grid gap-1">
        <h1 className="text-2xl font-semibold tracking-tight">API keys</h1>
        <p className="text-muted-foreground text-sm">
          Keys let agents and REST clients act for {user.accountName}. Berth stores only their hashes: a key is shown
          once, when it is created.
        </p>
      </div>
      {admin ? (
        <ApiKeysManager initialKeys={(await listApiKeys(userContext(user))).data} />
      ) : (
        <Alert>
          <AlertTitle>Only owners and admins manage API keys</AlertTitle>
          <AlertDescription>Ask an owner or admin of {user.accountName} for a key.</AlertDescription>
        </Alert>
      )}
    </div>
  );
}
