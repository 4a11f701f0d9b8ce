import { useMutation, useQuery, useQueryClient } from "@tanstack/react-query";
import { decideApprovalAction, setToolPolicyAction } from "@/app/(dashboard)/dashboard/connections/actions";
import { unwrap } from "@/lib/client/action";
import { api } from "@/lib/client/api";
import type { AnswerOf } from "@/lib/core/http/routes";
import type { ToolPolicy } from "@/lib/core/schemas/tool-policy";
import { connectionKeys } from "./keys";

export type ToolPolicyAnswer = AnswerOf<"GET /api/mcp-connections/:id/tool-policy">;
export type ToolApproval = AnswerOf<"GET /api/tool-approvals">[number];

/** Calls wait for a decision for seconds to minutes: look this often while the page is open. */
const APPROVALS_POLL_MS = 2_000;

/** The connection's tool policy, with its server's tools while it runs. */
export function useToolPolicyQuery(accountId: string, id: string, running: boolean) {
  return useQuery({
    queryKey: [...connectionKeys.toolPolicy(accountId, id), running],
    queryFn: ({ signal }) => api("GET /api/mcp-connections/:id/tool-policy", { params: { id }, signal }),
  });
}

export function useSetToolPolicyMutation(accountId: string, id: string) {
  const client = useQueryClient();
  return useMutation({
    mutationFn: (policy: ToolPolicy) => unwrap(setToolPolicyAction({ id, policy })),
    onSuccess: () => {
      void client.invalidateQueries({ queryKey: connectionKeys.toolPolicy(accountId, id) });
      void client.invalidateQueries({ queryKey: connectionKeys.tools(accountId, id) });
      void client.invalidateQueries({ queryKey: connectionKeys.events(accountId, id) });
    },
  });
}

/** The connection's tool calls waiting for a decision now. */
export function usePendingApprovalsQuery(accountId: string, id: string) {
  return useQuery({
    queryKey: connectionKeys.approvals(accountId, id),
    queryFn: ({ signal }) =>
      api("GET /api/tool-approvals", { query: { status: "pending", connection_id: id }, signal }),
    refetchInterval: APPROVALS_POLL_MS,
  });
}

export function useDecideApprovalMutation(accountId: string, id: string) {
  const client = useQueryClient();
  return useMutation({
    mutationFn: (input: { id: string; decision: "approved" | "rejected" }) => unwrap(decideApprovalAction(input)),
    onSettled: () => {
      void client.invalidateQueries({ queryKey: connectionKeys.approvals(accountId, id) });
      void client.invalidateQueries({ queryKey: connectionKeys.events(accountId, id) });
    },
  });
}
