import { z } from "zod";
import { PageParams } from "@/lib/core/pagination";

/** A tool's name as its server spells it: any text a server chose, bounded. */
const ServerToolName = z.string().min(1).max(200);
/** A name Berth gives a tool: what MCP recommends tool names be (1–128 of A–Z a–z 0–9 _ - .). */
const ExposedToolName = z
  .string()
  .regex(/^[A-Za-z0-9_.-]{1,128}$/, "1 to 128 letters, digits, `_`, `-` or `.`, as MCP recommends for tool names.");

const MAX_NAMED_TOOLS = 500;

export const ToolOverride = z
  .strictObject({
    name: ExposedToolName.optional().meta({ description: "The name clients see and call it by instead." }),
    description: z
      .string()
      .max(4000)
      .optional()
      .meta({ description: "The description clients see instead of the server's." }),
    approval: z
      .boolean()
      .optional()
      .meta({
        description:
          "Each call waits until an owner or admin approves or rejects it (dashboard or REST), at most " +
          "`approval_timeout_seconds`; rejected or unanswered, the call ends in an error result.",
      }),
  })
  .meta({ id: "ToolOverride" });

export const ToolPolicy = z
  .strictObject({
    allow: z.array(ServerToolName).max(MAX_NAMED_TOOLS).nullable().default(null).meta({
      description: "Only these tools (by the server's names) are offered; `null` offers every tool.",
    }),
    deny: z
      .array(ServerToolName)
      .max(MAX_NAMED_TOOLS)
      .default([])
      .meta({ description: "These tools (by the server's names) are hidden, whatever `allow` says." }),
    read_only: z.boolean().default(false).meta({
      description:
        "Offer only tools whose annotations say `readOnlyHint: true` (a hint the server gives; tools that say nothing are hidden).",
    }),
    tools: z
      .record(ServerToolName, ToolOverride)
      .default({})
      .refine((t) => Object.keys(t).length <= MAX_NAMED_TOOLS, `At most ${MAX_NAMED_TOOLS} tools.`)
      .refine((t) => {
        const names = Object.values(t).flatMap((o) => (o.name ? [o.name] : []));
        return new Set(names).size === names.length;
      }, "Two tools cannot be given the same name.")
      .meta({ description: "Renames, descriptions and approvals, by the server's tool name." }),
    approval_timeout_seconds: z
      .int()
      .min(5)
      .max(3600)
      .default(55)
      .meta({
        description:
          "How long a call that needs approval waits for a decision before it fails. The default stays under the " +
          "60 s many MCP clients wait for an answer; clients that reset their timeout on progress (the call gets " +
          "a progress notification every 10 s when it asked for progress) can be given longer.",
      }),
  })
  .meta({
    id: "ToolPolicy",
    description:
      "Which of the server's tools the connection's MCP endpoint offers, and under which names. A hidden tool is " +
      "left out of `tools/list`, and calling it answers the JSON-RPC error an unknown tool gets (-32602).",
  });
export type ToolPolicy = z.infer<typeof ToolPolicy>;

/** No policy: every tool, as the server names and describes it. */
export const OPEN_POLICY: ToolPolicy = {
  allow: null,
  deny: [],
  read_only: false,
  tools: {},
  approval_timeout_seconds: 55,
};

export const ToolVerdict = z
  .object({
    name: z.string().meta({ description: "The server's name for the tool." }),
    exposed_name: z.string().meta({ description: "The name clients see and call (renamed, or the server's)." }),
    description: z.string().meta({ description: "The description clients see." }),
    read_only: z.boolean().meta({ description: "Whether the server marks the tool `readOnlyHint: true`." }),
    visible: z.boolean(),
    approval: z.boolean().meta({ description: "Whether each call waits for an admin's approval." }),
    hidden_by: z
      .enum(["allow", "deny", "read_only", "name_taken"])
      .nullable()
      .meta({ description: "What hides it: not allowed, denied, not read-only, or its new name is another tool's." }),
  })
  .meta({ id: "ToolVerdict" });
export type ToolVerdict = z.infer<typeof ToolVerdict>;

export const ToolPolicyAnswer = z
  .object({
    policy: ToolPolicy,
    tools: z.array(ToolVerdict).nullable().meta({
      description:
        "Each of the server's tools and what the policy makes of it; `null` while the connection is not running.",
    }),
  })
  .meta({ id: "ToolPolicyAnswer" });

export const ApprovalStatus = z.enum(["pending", "approved", "rejected", "expired", "cancelled"]);

export const ToolApproval = z
  .object({
    id: z.uuid(),
    connection_id: z.uuid(),
    tool: z.string().meta({ description: "The server's name for the tool." }),
    called_as: z.string().meta({ description: "The name the client called it by (renamed, or the server's)." }),
    arguments: z.string().meta({
      description:
        "The call's arguments as JSON text, whole (a call whose arguments are longer than 32,768 characters is refused, not held).",
    }),
    client: z.string().meta({ description: "The MCP client's name for itself (its `initialize` clientInfo)." }),
    status: ApprovalStatus.meta({
      description:
        "`pending` until decided; `expired` when nobody decided in time, `cancelled` when the client withdrew the call first.",
    }),
    decided_by: z.enum(["user", "api_key", "system"]).nullable(),
    decided_by_user: z.uuid().nullable().meta({ description: "The user who decided, when a user did." }),
    created_at: z.string().meta({ description: "ISO 8601 UTC." }),
    expires_at: z.string().meta({ description: "When the call stops waiting and fails, if nobody decides." }),
    decided_at: z.string().nullable(),
  })
  .meta({
    id: "ToolApproval",
    description: "A tool call that waits for (or got) an owner's or admin's decision under a tool policy's `approval`.",
  });

export const ListApprovalsQuery = z.strictObject({
  status: ApprovalStatus.optional().meta({ description: "Only approvals in this status." }),
  connection_id: z.uuid().optional().meta({ description: "Only this connection's." }),
  ...PageParams,
});

export const ApprovalIdParams = z.object({ id: z.uuid().meta({ description: "The approval's id." }) });
