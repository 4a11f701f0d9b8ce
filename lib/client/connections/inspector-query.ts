import { useMutation, useQuery } from "@tanstack/react-query";
import { api } from "@/lib/client/api";
import type { AnswerOf, BodyOf } from "@/lib/core/http/routes";
import { connectionKeys } from "./keys";

// The inspector's resources and prompts (its tools: useToolsQuery and useCallToolMutation in
// connections-query.ts). Kept apart so both files can change independently.

export type ResourceInfo = AnswerOf<"GET /api/mcp-connections/:id/resources">[number];
export type PromptInfo = AnswerOf<"GET /api/mcp-connections/:id/prompts">[number];
export type ResourceContents = AnswerOf<"POST /api/mcp-connections/:id/resources/read">;
export type PromptMessages = AnswerOf<"POST /api/mcp-connections/:id/prompts/get">;
export type GetPromptBody = BodyOf<"POST /api/mcp-connections/:id/prompts/get">;

export const inspectorKeys = {
  resources: (accountId: string, id: string) => [...connectionKeys.detail(accountId, id), "resources"] as const,
  prompts: (accountId: string, id: string) => [...connectionKeys.detail(accountId, id), "prompts"] as const,
};

/** The resources of a running connection's server (empty when it has none). */
export function useResourcesQuery(accountId: string, id: string, enabled: boolean) {
  return useQuery({
    queryKey: inspectorKeys.resources(accountId, id),
    queryFn: ({ signal }) => api("GET /api/mcp-connections/:id/resources", { params: { id }, signal }),
    enabled,
  });
}

/** The prompts of a running connection's server (empty when it has none). */
export function usePromptsQuery(accountId: string, id: string, enabled: boolean) {
  return useQuery({
    queryKey: inspectorKeys.prompts(accountId, id),
    queryFn: ({ signal }) => api("GET /api/mcp-connections/:id/prompts", { params: { id }, signal }),
    enabled,
  });
}

/** Reads one resource by URI (resources/read). */
export function useReadResourceMutation(id: string) {
  return useMutation({
    mutationFn: (input: { uri: string }) =>
      api("POST /api/mcp-connections/:id/resources/read", { params: { id }, body: input }),
  });
}

/** Gets one prompt with its arguments (prompts/get). */
export function useGetPromptMutation(id: string) {
  return useMutation({
    mutationFn: (input: GetPromptBody) =>
      api("POST /api/mcp-connections/:id/prompts/get", { params: { id }, body: input }),
  });
}
