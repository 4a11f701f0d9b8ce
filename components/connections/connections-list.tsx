"use client";

import Link from "next/link";
import { Button } from "@/components/ui/button";
import { Table, TableBody, TableCell, TableHead, TableHeader, TableRow } from "@/components/ui/table";
import { useConnectionsQuery } from "@/lib/client/connections/connections-query";
import type { Connection } from "@/lib/core/schemas/connection";
import { ConnectionStatusBadge } from "./connection-status-badge";
import { Countdown } from "./countdown";

/** The account's connections, live: a table on wide screens, a list of cards on phones; 50 at a time. */
export function ConnectionsList({
  accountId,
  initialPage,
}: {
  accountId: string;
  initialPage: { data: Connection[]; next_cursor: string | null };
}) {
  const {
    data: pages,
    error,
    hasNextPage,
    fetchNextPage,
    isFetchingNextPage,
  } = useConnectionsQuery({
    accountId,
    initialPage,
  });
  const data = pages?.pages.flatMap((p) => p.data) ?? [];
  const expiry = (c: Connection) =>
    c.status === "running" || c.status === "deploying" ? <Countdown expiresAt={c.expires_at} /> : "—";

  if (error)
    return (
      <p className="text-destructive text-sm" role="alert">
        {error.message}
      </p>
    );
  if (data.length === 0)
    return (
      <div className="text-muted-foreground grid justify-items-center gap-2 rounded-lg border border-dashed p-8 text-center text-sm">
        <p>No connections yet</p>
        <Link href="/dashboard/catalogue" className="text-foreground font-medium underline underline-offset-4">
          Browse the catalogue
        </Link>
      </div>
    );
  return (
    <>
      <ul className="grid gap-3 md:hidden" data-testid="connection-cards">
        {data.map((c) => (
          <li key={c.id} className="bg-card grid gap-1 rounded-lg border p-4">
            <div className="flex items-center justify-between gap-2">
              <Link href={`/dashboard/connections/${c.id}`} className="min-w-0 truncate font-medium hover:underline">
                {c.name}
              </Link>
              <ConnectionStatusBadge status={c.status} />
            </div>
            <div className="text-muted-foreground flex justify-between gap-2 text-sm tabular-nums">
              <span>{c.server_slug}</span>
              <span>{expiry(c)}</span>
            </div>
          </li>
        ))}
      </ul>
      <div className="hidden rounded-lg border md:block">
        <Table>
          <TableHeader>
            <TableRow>
              <TableHead className="pl-4">Name</TableHead>
              <TableHead>Server</TableHead>
              <TableHead>Status</TableHead>
              <TableHead>Expiry</TableHead>
              <TableHead className="pr-4 text-right">Tool calls</TableHead>
            </TableRow>
          </TableHeader>
          <TableBody>
            {data.map((c) => (
              <TableRow key={c.id}>
                <TableCell className="pl-4 font-medium">
                  <Link href={`/dashboard/connections/${c.id}`} className="hover:underline">
                    {c.name}
                  </Link>
                </TableCell>
                <TableCell>{c.server_slug}</TableCell>
                <TableCell>
                  <ConnectionStatusBadge status={c.status} />
                </TableCell>
                <TableCell className="text-muted-foreground tabular-nums">{expiry(c)}</TableCell>
                <TableCell className="pr-4 text-right tabular-nums">
                  {c.tool_calls.count}
                  {c.tool_calls.errors ? ` (${c.tool_calls.errors} failed)` : ""}
                </TableCell>
              </TableRow>
            ))}
          </TableBody>
        </Table>
      </div>
      {hasNextPage && (
        <Button
          variant="outline"
          className="justify-self-center"
          disabled={isFetchingNextPage}
          onClick={() => void fetchNextPage()}
        >
          {isFetchingNextPage ? "Loading…" : "Load more"}
        </Button>
      )}
    </>
  );
}
