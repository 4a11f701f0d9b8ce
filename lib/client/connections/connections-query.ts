import { useMutation, useQuery, useQueryClient } from "@tanstack/react-query";
import { api } from "@/lib/client/api";
import type { AnswerOf } from "@/lib/core/http/routes";
import type { Connection } from "@/lib/core/schemas/connection";
import { connectionKeys } from "./keys";

/** Statuses change on their own (deploying → running, expiry, crashes): poll this often. */
const POLL_MS = 5_000;

export type ConnectionEvent = AnswerOf<"GET /api/mcp-connections/:id/events">[number];
export type ToolInfo = AnswerOf<"GET /api/mcp-connections/:id/tools">[number];
export type ToolResult = AnswerOf<"POST /api/mcp-connections/:id/tools/call">;

/** The account's connections. */
export function useConnectionsQuery({ accountId, initialData }: { accountId: string; initialData?: Connection[] }) {
  return useQuery({
    queryKey: connectionKeys.list(accountId),
    queryFn: ({ signal }) => api("GET /api/mcp-connections", { query: { account_id: accountId }, signal }),
    initialData,
    refetchInterval: POLL_MS,
  });
}

/** One connection. */
export function useConnectionQuery({ accountId, initialData }: { accountId: string; initialData: Connection }) {
  return useQuery({
    queryKey: connectionKeys.detail(accountId, initialData.id),
    queryFn: ({ signal }) => api("GET /api/mcp-connections/:id", { params: { id: initialData.id }, signal }),
    initialData,
    refetchInterval: POLL_MS,
  });
}

/** A connection's events, newest first as the API gives them. */
export function useEventsQuery(accountId: string, id: string) {
  return useQuery({
    queryKey: connectionKeys.events(accountId, id),
    queryFn: ({ signal }) => api("GET /api/mcp-connections/:id/events", { params: { id }, signal }),
    refetchInterval: POLL_MS,
  });
}

/** The tools of a running connection's server. */
export function useToolsQuery(accountId: string, id: string, enabled: boolean) {
  return useQuery({
    queryKey: connectionKeys.tools(accountId, id),
    queryFn: ({ signal }) => api("GET /api/mcp-connections/:id/tools", { params: { id }, signal }),
    enabled,
  });
}

/** Extends a connection by its default timeout; refreshes it and its events. */
export function useExtendMutation(accountId: string, id: string) {
  const client = useQueryClient();
  return useMutation({
    mutationFn: () => api("POST /api/mcp-connections/:id/extend", { params: { id }, body: {} }),
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
    mutationFn: () => api("POST /api/mcp-connections/:id/restart", { params: { id } }),
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
    mutationFn: () => api("DELETE /api/mcp-connections/:id", { params: { id } }),
    onSuccess: () => client.removeQueries({ queryKey: connectionKeys.detail(accountId, id) }),
  });
}

export type ClientConfig = AnswerOf<"GET /api/mcp-connections/:id/client-config">;

/** Ready-to-paste configs for an agent (the API key is a placeholder: Berth keeps only hashes). */
export function useClientConfigQuery(accountId: string, id: string) {
  return useQuery({
    queryKey: connectionKeys.clientConfig(accountId, id),
    queryFn: ({ signal }) => api("GET /api/mcp-connections/:id/client-config", { params: { id }, signal }),
    staleTime: Number.POSITIVE_INFINITY,
  });
}

/** Calls a tool through the inspector API (audited like any agent's call). */
export function useCallToolMutation(accountId: string, id: string) {
  const client = useQueryClient();
  return useMutation({
    mutationFn: (input: { name: string; arguments: Record<string, unknown> }) =>
      api("POST /api/mcp-connections/:id/tools/call", { params: { id }, body: input }),
    onSettled: () => void client.invalidateQueries({ queryKey: connectionKeys.events(accountId, id) }),
  });
}
