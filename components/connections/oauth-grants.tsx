"use client";

import { useMutation, useQuery, useQueryClient } from "@tanstack/react-query";
import { toast } from "sonner";
import { revokeGrantAction } from "@/app/(dashboard)/dashboard/connections/actions";
import { Button } from "@/components/ui/button";
import { Card, CardContent, CardDescription, CardHeader, CardTitle } from "@/components/ui/card";
import { unwrap } from "@/lib/client/action";
import { api } from "@/lib/client/api";
import { connectionKeys } from "@/lib/client/connections/keys";
import { formatUtc } from "./format";

/** MCP clients people allowed through OAuth to use this connection; admins revoke them. Hidden while there are none. */
export function OAuthGrants({
  accountId,
  connectionId,
  admin,
}: {
  accountId: string;
  connectionId: string;
  admin: boolean;
}) {
  const client = useQueryClient();
  const key = connectionKeys.grants(accountId, connectionId);
  const { data: grants = [] } = useQuery({
    queryKey: key,
    queryFn: ({ signal }) => api("GET /api/mcp-connections/:id/oauth-grants", { params: { id: connectionId }, signal }),
  });
  const revoke = useMutation({
    mutationFn: (grantId: string) => unwrap(revokeGrantAction({ id: connectionId, grant_id: grantId })),
    onSuccess: () => {
      toast.success("Revoked: that client must ask again.");
      void client.invalidateQueries({ queryKey: key });
    },
    onError: (err) => toast.error(`Not revoked: ${err.message}`),
  });
  if (!grants.length) return null;
  return (
    <Card>
      <CardHeader>
        <CardTitle>
          <h2>Allowed clients</h2>
        </CardTitle>
        <CardDescription>
          MCP clients a person allowed to use this connection (OAuth), acting as that person.
        </CardDescription>
      </CardHeader>
      <CardContent>
        <ul className="grid gap-3 text-sm" data-testid="oauth-grants">
          {grants.map((g) => (
            <li key={g.id} className="flex flex-wrap items-center justify-between gap-3 rounded-md border p-3">
              <div className="grid gap-0.5">
                <span className="font-medium">{g.client_name}</span>
                <span className="text-muted-foreground text-xs">
                  allowed by {g.email ?? g.user_id} on {formatUtc(g.created_at)} · last refreshed{" "}
                  {formatUtc(g.last_issued_at)}
                </span>
              </div>
              {admin && (
                <Button
                  size="sm"
                  variant="outline"
                  className="text-destructive"
                  aria-label={`Revoke ${g.client_name}`}
                  aria-disabled={revoke.isPending}
                  onClick={() => revoke.mutate(g.id)}
                >
                  Revoke
                </Button>
              )}
            </li>
          ))}
        </ul>
      </CardContent>
    </Card>
  );
}
