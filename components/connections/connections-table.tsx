"use client";

import Link from "next/link";
import { Table, TableBody, TableCell, TableHead, TableHeader, TableRow } from "@/components/ui/table";
import { useConnectionsQuery } from "@/lib/client/connections/connections-query";
import type { Connection } from "@/lib/core/schemas/connection";
import { ConnectionStatusBadge } from "./connection-status-badge";
import { formatUtc } from "./format";

export function ConnectionsTable({ accountId, initialData }: { accountId: string; initialData: Connection[] }) {
  const { data = [], error } = useConnectionsQuery({ accountId, initialData });

  return (
    <div className="grid gap-2">
      {error && <p className="text-destructive text-sm">{error.message}</p>}
      {data.length === 0 ? (
        <p className="text-muted-foreground rounded-lg border border-dashed p-8 text-center text-sm">
          No connections yet
        </p>
      ) : (
        <div className="rounded-lg border">
          <Table>
            <TableHeader>
              <TableRow>
                <TableHead className="pl-4">Name</TableHead>
                <TableHead>Server</TableHead>
                <TableHead>Status</TableHead>
                <TableHead>Expires</TableHead>
                <TableHead className="pr-4">MCP URL</TableHead>
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
                  <TableCell className="text-muted-foreground tabular-nums">
                    <time dateTime={c.expires_at}>{formatUtc(c.expires_at)}</time>
                  </TableCell>
                  <TableCell className="pr-4">
                    <code className="bg-muted rounded px-1.5 py-0.5 font-mono text-xs">{c.mcp_url}</code>
                  </TableCell>
                </TableRow>
              ))}
            </TableBody>
          </Table>
        </div>
      )}
    </div>
  );
}
