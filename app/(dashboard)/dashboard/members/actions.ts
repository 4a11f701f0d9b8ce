"use server";

import { z } from "zod";
import { defineAction } from "@/lib/actions/define-action";
import { inviteMember, removeMember, setMemberRole } from "@/lib/core/services/members";

const Role = z.enum(["owner", "admin", "member"], { error: "Pick owner, admin or member." });

export const inviteMemberAction = defineAction(
  z.strictObject({
    email: z
      .string()
      .trim()
      .toLowerCase()
      .pipe(z.email({ error: "Enter an email address." })),
    role: Role,
  }),
  (ctx, input) => inviteMember(ctx, input),
);

export const setMemberRoleAction = defineAction(z.strictObject({ user_id: z.uuid(), role: Role }), (ctx, input) =>
  setMemberRole(ctx, input.user_id, input.role),
);

export const removeMemberAction = defineAction(z.strictObject({ user_id: z.uuid() }), (ctx, input) =>
  removeMember(ctx, input.user_id),
);
