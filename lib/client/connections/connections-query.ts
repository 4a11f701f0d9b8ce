import { useQuery } from "@tanstack/react-query";
import type { Connection } from "@/lib/core/schemas/connection";
import { connectionKeys } from "./keys";

type ErrorBody = { error?: { message?: string } };

/** GET /api/mcp-connections as the signed-in user (the session cookie authenticates). */
export async function getConnections(accountId: string, signal?: AbortSignal): Promise<Connection[]> {
  const res = await fetch(`/api/mcp-connections?account_id=${encodeURIComponent(accountId)}`, {
    credentials: "same-origin",
    headers: { accept: "application/json" },
    signal,
  });
  const body = (await res.json().catch(() => ({}))) as { data?: Connection[] } & ErrorBody;
  if (!res.ok || !body.data) throw new Error(body.error?.message ?? `Loading connections failed (${res.status}).`);
  return body.data;
}

/** The account's connections, polled every 5 s so status changes (deploying → running) show up. */
export function useConnectionsQuery({ accountId, initialData }: { accountId: string; initialData?: Connection[] }) {
  return useQuery({
    queryKey: connectionKeys.list(accountId),
    queryFn: ({ signal }) => getConnections(accountId, signal),
    initialData,
    refetchInterval: 5_000,
  });
}
