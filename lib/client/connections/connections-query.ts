import { useMutation, useQuery, useQueryClient } from "@tanstack/react-query";
import { api } from "@/lib/client/api";
import type { Connection } from "@/lib/core/schemas/connection";
import { connectionKeys } from "./keys";

/** Statuses change on their own (deploying → running, expiry, crashes): poll this often. */
const POLL_MS = 5_000;

export type ConnectionEvent = { id: string; type: string; created_at: string; data: Record<string, unknown> };
export type ToolInfo = { name: string; description?: string; inputSchema?: unknown };
export type ToolResult = { content: unknown[]; isError?: boolean };

const base = (id: string) => `/api/mcp-connections/${encodeURIComponent(id)}`;

/** The account's connections. */
export function useConnectionsQuery({ accountId, initialData }: { accountId: string; initialData?: Connection[] }) {
  return useQuery({
    queryKey: connectionKeys.list(accountId),
    queryFn: ({ signal }) =>
      api<Connection[]>("GET", `/api/mcp-connections?account_id=${encodeURIComponent(accountId)}`, undefined, signal),
    initialData,
    refetchInterval: POLL_MS,
  });
}

/** One connection. */
export function useConnectionQuery({ accountId, initialData }: { accountId: string; initialData: Connection }) {
  return useQuery({
    queryKey: connectionKeys.detail(accountId, initialData.id),
    queryFn: ({ signal }) => api<Connection>("GET", base(initialData.id), undefined, signal),
    initialData,
    refetchInterval: POLL_MS,
  });
}

/** A connection's events, newest first as the API gives them. */
export function useEventsQuery(accountId: string, id: string) {
  return useQuery({
    queryKey: connectionKeys.events(accountId, id),
    queryFn: ({ signal }) => api<ConnectionEvent[]>("GET", `${base(id)}/events`, undefined, signal),
    refetchInterval: POLL_MS,
  });
}

/** The tools of a running connection's server. */
export function useToolsQuery(accountId: string, id: string, enabled: boolean) {
  return useQuery({
    queryKey: connectionKeys.tools(accountId, id),
    queryFn: ({ signal }) => api<ToolInfo[]>("GET", `${base(id)}/tools`, undefined, signal),
    enabled,
  });
}

/** Extends a connection by its default timeout; refreshes it and its events. */
export function useExtendMutation(accountId: string, id: string) {
  const client = useQueryClient();
  return useMutation({
    mutationFn: () => api<Connection>("POST", `${base(id)}/extend`, {}),
    onSuccess: (conn) => {
      client.setQueryData(connectionKeys.detail(accountId, id), conn);
      void client.invalidateQueries({ queryKey: connectionKeys.events(accountId, id) });
      void client.invalidateQueries({ queryKey: connectionKeys.list(accountId) });
    },
  });
}

/** Replaces the connection's sandbox (same id and URL); refreshes it and its events. */
export function useRestartMutation(accountId: string, id: string) {
  const client = useQueryClient();
  return useMutation({
    mutationFn: () => api<Connection>("POST", `${base(id)}/restart`),
    onSuccess: (conn) => {
      client.setQueryData(connectionKeys.detail(accountId, id), conn);
      void client.invalidateQueries({ queryKey: connectionKeys.detail(accountId, id) });
    },
  });
}

/** Deletes the connection: its sandbox stops, its URL answers 404 from then on. */
export function useDeleteMutation(accountId: string, id: string) {
  const client = useQueryClient();
  return useMutation({
    mutationFn: () => api<Connection>("DELETE", base(id)),
    onSuccess: () => client.removeQueries({ queryKey: connectionKeys.detail(accountId, id) }),
  });
}

export type ClientConfig = { url: string; headers: Record<string, string>; mcpServers: Record<string, unknown> };

/** Ready-to-paste configs for an agent (the API key is a placeholder: Berth keeps only hashes). */
export function useClientConfigQuery(accountId: string, id: string) {
  return useQuery({
    queryKey: connectionKeys.clientConfig(accountId, id),
    queryFn: ({ signal }) => api<ClientConfig>("GET", `${base(id)}/client-config`, undefined, signal),
    staleTime: Number.POSITIVE_INFINITY,
  });
}

/** Calls a tool through the inspector API (audited like any agent's call). */
export function useCallToolMutation(accountId: string, id: string) {
  const client = useQueryClient();
  return useMutation({
    mutationFn: (input: { name: string; arguments: Record<string, unknown> }) =>
      api<ToolResult>("POST", `${base(id)}/tools/call`, input),
    onSettled: () => void client.invalidateQueries({ queryKey: connectionKeys.events(accountId, id) }),
  });
}
