"use server";

import { z } from "zod";
import { defineAction } from "@/lib/actions/define-action";
import { CredentialsInput, ExtendInput, InstallInput, UpdateConnectionInput } from "@/lib/core/schemas/connection";
import { ToolPolicy } from "@/lib/core/schemas/tool-policy";
import { AuthorizeInput } from "@/lib/core/schemas/upstream-oauth";
import { deleteConnection } from "@/lib/core/services/connections/delete";
import { dryRunConnection } from "@/lib/core/services/connections/dry-run";
import { extendConnection } from "@/lib/core/services/connections/extend";
import { installConnection } from "@/lib/core/services/connections/install";
import { revokeGrant } from "@/lib/core/services/connections/oauth-grants";
import { presentConnection } from "@/lib/core/services/connections/present";
import { replaceCredentials } from "@/lib/core/services/connections/replace-credentials";
import { restartConnection } from "@/lib/core/services/connections/restart";
import { setToolPolicy } from "@/lib/core/services/connections/tool-policy";
import { updateConnection } from "@/lib/core/services/connections/update";
import { startAuthorization } from "@/lib/core/services/connections/upstream-oauth";
import { decideApproval } from "@/lib/core/services/tool-approvals";

// The dashboard's connection changes: the same services and input schemas as the REST routes.

const Target = z.strictObject({ id: z.uuid({ error: "No such connection." }) });

/** Install's input; the account is the session's. */
const Install = InstallInput.omit({ dry_run: true, account_id: true });

export const installAction = defineAction(Install, async (ctx, input) =>
  presentConnection(ctx, await installConnection(ctx, { ...input, account_id: ctx.accountId })),
);

export const testCredentialsAction = defineAction(Install, (ctx, input) =>
  dryRunConnection(ctx, { ...input, account_id: ctx.accountId, dry_run: true }),
);

export const extendAction = defineAction(Target.extend(ExtendInput.shape), async (ctx, { id, ...input }) =>
  presentConnection(ctx, await extendConnection(ctx, id, input)),
);

export const restartAction = defineAction(Target, async (ctx, { id }) =>
  presentConnection(ctx, await restartConnection(ctx, id)),
);

export const deleteAction = defineAction(Target, async (ctx, { id }) =>
  presentConnection(ctx, await deleteConnection(ctx, id)),
);

export const updateAction = defineAction(Target.extend(UpdateConnectionInput.shape), async (ctx, { id, ...input }) =>
  presentConnection(ctx, await updateConnection(ctx, id, input)),
);

export const replaceCredentialsAction = defineAction(
  Target.extend(CredentialsInput.shape),
  async (ctx, { id, ...input }) => presentConnection(ctx, await replaceCredentials(ctx, id, input)),
);

export const setToolPolicyAction = defineAction(Target.extend({ policy: ToolPolicy }), (ctx, { id, policy }) =>
  setToolPolicy(ctx, id, policy),
);

export const decideApprovalAction = defineAction(
  z.strictObject({ id: z.uuid({ error: "No such approval." }), decision: z.enum(["approved", "rejected"]) }),
  (ctx, { id, decision }) => decideApproval(ctx, id, decision),
);

export const revokeGrantAction = defineAction(
  Target.extend({ grant_id: z.uuid({ error: "No such grant." }) }),
  (ctx, { id, grant_id }) => revokeGrant(ctx, id, grant_id),
);

/** "Connect with GitHub": where to send the browser, at the provider. */
export const authorizeAction = defineAction(Target.extend(AuthorizeInput.shape), (ctx, { id, ...input }) =>
  startAuthorization(ctx, id, input),
);
