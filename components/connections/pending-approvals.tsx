"use client";

import { toast } from "sonner";
import { Button } from "@/components/ui/button";
import { Card, CardContent, CardDescription, CardHeader, CardTitle } from "@/components/ui/card";
import { useDecideApprovalMutation, usePendingApprovalsQuery } from "@/lib/client/connections/tool-policy-query";
import { Countdown } from "./countdown";

/** Tool calls of this connection waiting for an owner's or admin's decision; shown only while there are some. */
export function PendingApprovals({
  accountId,
  connectionId,
  admin,
}: {
  accountId: string;
  connectionId: string;
  admin: boolean;
}) {
  const { data: pending = [] } = usePendingApprovalsQuery(accountId, connectionId);
  const decide = useDecideApprovalMutation(accountId, connectionId);
  if (!pending.length) return null;
  const answer = (id: string, decision: "approved" | "rejected", tool: string) =>
    decide.mutate(
      { id, decision },
      {
        onSuccess: () => toast.success(decision === "approved" ? `Approved: ${tool} runs.` : `Rejected: ${tool}.`),
        onError: (err) => toast.error(err.message),
      },
    );

  return (
    <Card className="border-amber-500/60" data-testid="pending-approvals">
      <CardHeader>
        <CardTitle>
          <h2>Waiting for approval</h2>
        </CardTitle>
        <CardDescription>
          {admin
            ? "These calls run only once you approve them; a rejected or unanswered call fails."
            : "An owner or admin of the account decides these calls."}
        </CardDescription>
      </CardHeader>
      <CardContent>
        <ul className="grid gap-3 text-sm" aria-live="polite">
          {pending.map((a) => (
            <li key={a.id} className="grid gap-2 rounded-md border p-3">
              <div className="flex flex-wrap items-center gap-x-3 gap-y-1">
                <span className="font-mono font-medium break-all">{a.called_as}</span>
                <span className="text-muted-foreground">from {a.client}</span>
                <Countdown
                  expiresAt={a.expires_at}
                  label="fails in"
                  testId="approval-expires"
                  className="text-muted-foreground ml-auto text-xs tabular-nums"
                />
              </div>
              <pre className="bg-muted max-h-40 overflow-auto rounded p-2 text-xs break-all whitespace-pre-wrap">
                {a.arguments}
              </pre>
              {admin && (
                <div className="flex gap-2">
                  <Button
                    size="sm"
                    onClick={() => answer(a.id, "approved", a.called_as)}
                    aria-disabled={decide.isPending}
                  >
                    Approve
                  </Button>
                  <Button
                    size="sm"
                    variant="outline"
                    onClick={() => answer(a.id, "rejected", a.called_as)}
                    aria-disabled={decide.isPending}
                  >
                    Reject
                  </Button>
                </div>
              )}
            </li>
          ))}
        </ul>
      </CardContent>
    </Card>
  );
}
