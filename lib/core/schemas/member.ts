import { z } from "zod";
import { Id } from "./common";

export const MemberRole = z.enum(["owner", "admin", "member"], { error: "Must be owner, admin or member." });

export const Member = z
  .object({
    user_id: Id,
    email: z.string().nullable().meta({ description: "Null for a Supabase user added by id." }),
    role: MemberRole,
    created_at: z.string().meta({ description: "When they became a member (ISO 8601 UTC)." }),
    pending: z.boolean().meta({ description: "Invited, and has not accepted the invitation yet." }),
  })
  .meta({ id: "Member" });
export type Member = z.output<typeof Member>;

export const InviteMemberInput = z
  .strictObject({
    email: z
      .string({ error: "Enter an email address." })
      .trim()
      .toLowerCase()
      .pipe(z.email({ error: "Enter an email address." }).max(320)),
    role: MemberRole.default("member").meta({ description: "Only an owner may invite an owner." }),
  })
  .meta({ id: "InviteMemberInput" });
export type InviteMemberInput = z.input<typeof InviteMemberInput>;

export const InvitedMember = z
  .object({
    member: Member,
    invite_url: z.string().meta({
      description:
        "The invitation's single-use link (7 days), shown this once. A new user chooses a password there; a " +
        "user who has one signs in there and joins. Until then the membership is `pending` and grants nothing.",
    }),
  })
  .meta({ id: "InvitedMember" });
export type InvitedMember = z.output<typeof InvitedMember>;

export const SetMemberRoleInput = z.strictObject({ role: MemberRole }).meta({ id: "SetMemberRoleInput" });

export const MemberParams = z.object({ userId: z.uuid().meta({ description: "The member's user id." }) });

export const AcceptInviteInput = z.object({
  token: z.string({ error: "The invitation link is incomplete." }).min(1).max(200),
  password: z
    .string({ error: "Choose a password." })
    .min(8, { error: "At least 8 characters." })
    .max(1024, { error: "At most 1024 characters." }),
});
export type AcceptInviteInput = z.input<typeof AcceptInviteInput>;
