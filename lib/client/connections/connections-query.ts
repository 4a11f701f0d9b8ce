import { type InfiniteData, useInfiniteQuery, useMutation, useQuery, useQueryClient } from "@tanstack/react-query";
import {
  deleteAction,
  extendAction,
  restartAction,
  updateAction,
} from "@/app/(dashboard)/dashboard/connections/actions";
import { unwrap } from "@/lib/client/action";
import { api, apiPage } from "@/lib/client/api";
import type { AnswerOf } from "@/lib/core/http/routes";
import type { Connection } from "@/lib/core/schemas/connection";
import { connectionKeys } from "./keys";

/**
 * Statuses change on their own (deploying → running, expiry, crashes): poll this often, so a card
 * shows a change within two seconds. Only while the tab is visible (TanStack Query's default).
 */
const POLL_MS = 2_000;

export type ConnectionEvent = AnswerOf<"GET /api/mcp-connections/:id/events">[number];
export type ToolInfo = AnswerOf<"GET /api/mcp-connections/:id/tools">[number];
export type ToolResult = AnswerOf<"POST /api/mcp-connections/:id/tools/call">;

/** Connections a page of the list shows; more load on demand, so an account of 10,000 loads 50. */
export const CONNECTIONS_PAGE = 50;

type ConnectionsPage = { data: Connection[]; next_cursor: string | null };

/** The account's connections, newest first, a page at a time ("Load more": `fetchNextPage`). */
export function useConnectionsQuery({ accountId, initialPage }: { accountId: string; initialPage?: ConnectionsPage }) {
  return useInfiniteQuery({
    queryKey: connectionKeys.list(accountId),
    queryFn: ({ signal, pageParam }) =>
      apiPage("GET /api/mcp-connections", {
        query: {
          account_id: accountId,
          limit: String(CONNECTIONS_PAGE),
          ...(pageParam ? { cursor: pageParam } : {}),
        },
        signal,
      }),
    initialPageParam: "",
    getNextPageParam: (last) => last.next_cursor ?? undefined,
    initialData: initialPage ? { pages: [initialPage], pageParams: [""] } : undefined,
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

/** Keeps a changed connection in the detail and list caches, and refreshes its timeline. */
function useConnectionChanged(accountId: string, id: string) {
  const client = useQueryClient();
  return (conn: Connection) => {
    client.setQueryData(connectionKeys.detail(accountId, id), conn);
    client.setQueryData<InfiniteData<ConnectionsPage>>(connectionKeys.list(accountId), (list) =>
      list
        ? { ...list, pages: list.pages.map((p) => ({ ...p, data: p.data.map((c) => (c.id === id ? conn : c)) })) }
        : list,
    );
    void client.invalidateQueries({ queryKey: connectionKeys.events(accountId, id) });
  };
}

/**
 * An optimistic change to the connection's card: applied at once, rolled back if the server
 * refuses, replaced by the server's answer when it comes.
 */
function useOptimisticChange<V>(accountId: string, id: string, change: (conn: Connection, vars: V) => Connection) {
  const client = useQueryClient();
  const changed = useConnectionChanged(accountId, id);
  const key = connectionKeys.detail(accountId, id);
  return {
    onMutate: async (vars: V) => {
      await client.cancelQueries({ queryKey: key });
      const before = client.getQueryData<Connection>(key);
      if (before) client.setQueryData(key, change(before, vars));
      return { before };
    },
    onError: (_err: Error, _vars: V, context?: { before?: Connection }) => {
      if (context?.before) client.setQueryData(key, context.before);
    },
    onSuccess: changed,
  };
}

/**
 * Moves expiry later by `seconds` from its current value (the API extends to now + seconds, at
 * most 24 h): shown at once, rolled back if the server refuses.
 */
export function useExtendMutation(accountId: string, id: string) {
  return useMutation({
    mutationFn: (expiresAt: string) => {
      const seconds = Math.min(86_400, Math.ceil((Date.parse(expiresAt) - Date.now()) / 1000));
      return unwrap(extendAction({ id, seconds }));
    },
    ...useOptimisticChange(accountId, id, (conn, expiresAt: string) => ({ ...conn, expires_at: expiresAt })),
  });
}

/** Replaces the connection's sandbox (same id and URL): shown as deploying until it runs. */
export function useRestartMutation(accountId: string, id: string) {
  return useMutation({
    mutationFn: () => unwrap(restartAction({ id })),
    ...useOptimisticChange(accountId, id, (conn) => ({ ...conn, status: "deploying" as const })),
  });
}

/** Turns keep-alive on or off: shown at once, rolled back if the server refuses. */
export function useKeepAliveMutation(accountId: string, id: string) {
  return useMutation({
    mutationFn: (keepAlive: boolean) => unwrap(updateAction({ id, keep_alive: keepAlive })),
    ...useOptimisticChange(accountId, id, (conn, keepAlive: boolean) => ({ ...conn, keep_alive: keepAlive })),
  });
}

/** Deletes the connection: its sandbox stops, its URL answers 404 from then on. */
export function useDeleteMutation(accountId: string, id: string) {
  const client = useQueryClient();
  return useMutation({
    mutationFn: () => unwrap(deleteAction({ id })),
    onSuccess: () => {
      client.removeQueries({ queryKey: connectionKeys.detail(accountId, id) });
      void client.invalidateQueries({ queryKey: connectionKeys.list(accountId) });
    },
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
