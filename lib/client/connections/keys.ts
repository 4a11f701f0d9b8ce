/** Every TanStack Query key for connections comes from here, so invalidation can target them. */
export const connectionKeys = {
  all: ["connections"] as const,
  list: (accountId: string) => [...connectionKeys.all, "list", accountId] as const,
  detail: (accountId: string, id: string) => [...connectionKeys.all, "detail", accountId, id] as const,
  events: (accountId: string, id: string) => [...connectionKeys.detail(accountId, id), "events"] as const,
  tools: (accountId: string, id: string) => [...connectionKeys.detail(accountId, id), "tools"] as const,
  toolPolicy: (accountId: string, id: string) => [...connectionKeys.detail(accountId, id), "tool-policy"] as const,
  grants: (accountId: string, id: string) => [...connectionKeys.detail(accountId, id), "oauth-grants"] as const,
  approvals: (accountId: string, id: string) => [...connectionKeys.detail(accountId, id), "approvals"] as const,
  clientConfig: (accountId: string, id: string) => [...connectionKeys.detail(accountId, id), "client-config"] as const,
};
