"use client";

import { useMutation } from "@tanstack/react-query";
import { KeyRound, TriangleAlert } from "lucide-react";
import { useSearchParams } from "next/navigation";
import { authorizeAction } from "@/app/(dashboard)/dashboard/connections/actions";
import { Alert, AlertDescription, AlertTitle } from "@/components/ui/alert";
import { Button } from "@/components/ui/button";
import { unwrap } from "@/lib/client/action";
import type { Connection } from "@/lib/core/schemas/connection";
import type { ServerDefinition } from "@/lib/core/schemas/server-definition";

/** Sends the browser to the provider to authorize the connection; it comes back to `returnTo`. */
export function useConnectWithProvider(connectionId: string, returnTo?: string) {
  return useMutation({
    mutationFn: () => unwrap(authorizeAction({ id: connectionId, ...(returnTo ? { return_to: returnTo } : {}) })),
    onSuccess: ({ authorization_url }) => window.location.assign(authorization_url),
  });
}

/**
 * A connection whose server connects through OAuth: while it needs a sign-in (`auth_required`),
 * why and a button to connect again; otherwise nothing but the failure of a flow that came back
 * with `oauth_error`.
 */
export function ConnectProvider({
  conn,
  definition,
  admin,
}: {
  conn: Connection;
  definition: ServerDefinition;
  admin: boolean;
}) {
  const connect = useConnectWithProvider(conn.id);
  const returned = useSearchParams().get("oauth_error");
  const oauth = definition.oauth;
  if (!oauth || (conn.status !== "auth_required" && !returned)) return null;
  const provider = oauth.provider;
  const problem = connect.error?.message ?? returned;
  return (
    <Alert data-testid="connect-provider">
      <KeyRound aria-hidden />
      <AlertTitle>
        {conn.status === "auth_required"
          ? `Sign in with ${provider} to run this connection`
          : `Not connected to ${provider}`}
      </AlertTitle>
      <AlertDescription className="grid gap-3">
        {conn.status === "auth_required" && conn.last_error && <p>{conn.last_error}</p>}
        {problem && (
          <p className="text-destructive flex items-start gap-2" role="alert">
            <TriangleAlert className="mt-0.5 size-4 shrink-0" aria-hidden />
            {problem}
          </p>
        )}
        {admin && oauth.configured ? (
          <Button
            size="sm"
            className="w-fit"
            aria-disabled={connect.isPending}
            onClick={() => !connect.isPending && connect.mutate()}
          >
            {connect.isPending ? "Opening…" : `Connect with ${provider}`}
          </Button>
        ) : (
          <p className="text-muted-foreground">
            {admin
              ? `This Berth has no OAuth app at ${provider}; paste a token under Credentials instead.`
              : "An owner or admin of the account can connect it."}
          </p>
        )}
      </AlertDescription>
    </Alert>
  );
}
