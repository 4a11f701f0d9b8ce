"use client";

import { useMutation } from "@tanstack/react-query";
import { type FormEvent, useState } from "react";
import { toast } from "sonner";
import {
  inviteMemberAction,
  removeMemberAction,
  setMemberRoleAction,
} from "@/app/(dashboard)/dashboard/members/actions";
import { FormField } from "@/components/forms/form-field";
import { Button } from "@/components/ui/button";
import { Card, CardContent, CardDescription, CardHeader, CardTitle } from "@/components/ui/card";
import { CopyField } from "@/components/ui/copy-button";
import { Label } from "@/components/ui/label";
import { unwrap } from "@/lib/client/action";
import { ApiError } from "@/lib/client/api";

type Role = "owner" | "admin" | "member";
export type MemberRow = { user_id: string; email: string | null; role: Role; created_at: string; pending: boolean };

const ROLES: Role[] = ["owner", "admin", "member"];
const select =
  "bg-background focus-visible:ring-ring h-9 rounded-md border px-2 text-sm outline-none focus-visible:ring-2";

/** The account's members: invite (built-in sign-in), change roles, remove. Only owners grant owner. */
export function MembersManager({
  initialMembers,
  me,
  invites,
}: {
  initialMembers: MemberRow[];
  me: { userId: string; role: Role };
  invites: boolean;
}) {
  const [members, setMembers] = useState(initialMembers);
  const [email, setEmail] = useState("");
  const [role, setRole] = useState<Role>("member");
  const [invited, setInvited] = useState<{ email: string; url: string }>();
  const admin = me.role !== "member";
  const grantable = ROLES.filter((r) => r !== "owner" || me.role === "owner");

  const invite = useMutation({
    mutationFn: () => unwrap(inviteMemberAction({ email, role })),
    onSuccess: ({ member, invite_url }) => {
      setMembers((all) => [...all.filter((m) => m.user_id !== member.user_id), member]);
      setInvited({ email: member.email ?? "", url: invite_url });
      setEmail("");
    },
  });
  const change = useMutation({
    mutationFn: (v: { user_id: string; role: Role }) => unwrap(setMemberRoleAction(v)),
    onSuccess: (m) => {
      setMembers((all) => all.map((x) => (x.user_id === m.user_id ? { ...x, role: m.role } : x)));
      toast.success(`Role changed to ${m.role}.`);
    },
    onError: (err) => toast.error(err.message),
  });
  const remove = useMutation({
    mutationFn: (userId: string) => unwrap(removeMemberAction({ user_id: userId })),
    onSuccess: (_m, userId) => {
      setMembers((all) => all.filter((x) => x.user_id !== userId));
      toast.success("Member removed.");
    },
    onError: (err) => toast.error(err.message),
  });
  const fieldError = (path: string) =>
    invite.error instanceof ApiError ? invite.error.fieldErrors.find((d) => d.path === path)?.message : undefined;

  const submit = (e: FormEvent) => {
    e.preventDefault();
    if (!invite.isPending) invite.mutate();
  };

  return (
    <div className="grid min-w-0 gap-6">
      {admin && invites && (
        <Card>
          <CardHeader>
            <CardTitle>
              <h2>Invite someone</h2>
            </CardTitle>
            <CardDescription>They get a link to accept; it works once, for 7 days.</CardDescription>
          </CardHeader>
          <CardContent className="grid gap-4">
            <form onSubmit={submit} className="flex flex-wrap items-end gap-3" noValidate>
              <div className="min-w-56 flex-1">
                <FormField
                  id="invite-email"
                  label="Email"
                  type="email"
                  required
                  value={email}
                  onChange={(e) => setEmail(e.target.value)}
                  errors={
                    fieldError("email")
                      ? [fieldError("email") as string]
                      : invite.error && !fieldError("role")
                        ? [invite.error.message]
                        : undefined
                  }
                />
              </div>
              <div className="grid gap-2">
                <Label htmlFor="invite-role">Role</Label>
                <select
                  id="invite-role"
                  className={select}
                  value={role}
                  onChange={(e) => setRole(e.target.value as Role)}
                >
                  {grantable.map((r) => (
                    <option key={r}>{r}</option>
                  ))}
                </select>
              </div>
              <Button type="submit" aria-disabled={invite.isPending}>
                {invite.isPending ? "Inviting…" : "Invite"}
              </Button>
            </form>
            {invited && (
              <div className="grid gap-2 rounded-md border p-3" role="status" data-testid="invite-result">
                <p className="text-sm">
                  Send {invited.email} this link (shown once). They join when they open it: choosing a password, or
                  signing in if they have one.
                </p>
                <CopyField value={invited.url} label="Copy the invite link" testId="invite-url" />
              </div>
            )}
          </CardContent>
        </Card>
      )}

      <ul className="grid gap-3" aria-label="Members" data-testid="members">
        {members.map((m) => (
          <li
            key={m.user_id}
            className="bg-card flex flex-wrap items-center justify-between gap-3 rounded-lg border p-4"
          >
            <div className="grid min-w-0 gap-0.5">
              <span className="truncate font-medium">
                {m.email || m.user_id}
                {m.user_id === me.userId ? " (you)" : ""}
              </span>
              <span className="text-muted-foreground text-xs">{m.pending ? "Invited, not joined yet" : "Member"}</span>
            </div>
            {admin && (m.role !== "owner" || me.role === "owner") ? (
              <div className="flex items-center gap-2">
                <label className="sr-only" htmlFor={`role-${m.user_id}`}>
                  Role of {m.email ?? m.user_id}
                </label>
                <select
                  id={`role-${m.user_id}`}
                  className={select}
                  value={m.role}
                  onChange={(e) => change.mutate({ user_id: m.user_id, role: e.target.value as Role })}
                >
                  {grantable.concat(m.role === "owner" && me.role !== "owner" ? ["owner"] : []).map((r) => (
                    <option key={r}>{r}</option>
                  ))}
                </select>
                <Button
                  size="sm"
                  variant="outline"
                  className="text-destructive"
                  aria-label={`Remove ${m.email || m.user_id}`}
                  onClick={() => {
                    if (window.confirm(`Remove ${m.email ?? m.user_id} from this account?`)) remove.mutate(m.user_id);
                  }}
                >
                  Remove
                </Button>
              </div>
            ) : (
              <span className="text-sm capitalize">{m.role}</span>
            )}
          </li>
        ))}
      </ul>
    </div>
  );
}
