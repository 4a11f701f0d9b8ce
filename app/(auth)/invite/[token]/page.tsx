import type { Metadata } from "next";
import Link from "next/link";
import { connection } from "next/server";
import { Card, CardContent, CardDescription, CardHeader, CardTitle } from "@/components/ui/card";
import { getAppDeps } from "@/lib/app-deps";
import { getSignedInUserId } from "@/lib/auth/current-user";
import { describeInvite } from "@/lib/core/services/members";
import { acceptInviteAction, joinInviteAction } from "./actions";
import { InviteForm, JoinForm } from "./invite-form";

export const metadata: Metadata = { title: "Join · Berth" };

/**
 * An invitation link: a new user chooses their password here; a user who has one (or signs in
 * with Supabase Auth) signs in as the invited email first, then joins.
 */
export default async function InvitePage({ params }: { params: Promise<{ token: string }> }) {
  await connection();
  const { token } = await params;
  const { supabase } = getAppDeps();
  const invite = await describeInvite(getAppDeps(), token);
  if (!invite)
    return (
      <InviteCard
        title="This invite does not work"
        text="It was used already, has expired, or was never made. Ask for a new one."
      >
        <Link href="/sign-in" className="text-sm font-medium underline underline-offset-4">
          Sign in instead
        </Link>
      </InviteCard>
    );
  const title = `Join ${invite.account_name}`;
  if (invite.needs_password && !supabase)
    return (
      <InviteCard title={title} text={`Choose a password for ${invite.email}.`}>
        <InviteForm action={acceptInviteAction} token={token} email={invite.email} />
      </InviteCard>
    );
  if ((await getSignedInUserId()) === invite.user_id)
    return (
      <InviteCard title={title} text={`You are signed in as ${invite.email || "the invited user"}.`}>
        <JoinForm action={joinInviteAction} token={token} />
      </InviteCard>
    );
  return (
    <InviteCard
      title={title}
      text={`This invitation is for ${invite.email || "another user"}: sign in as them to accept it.`}
    >
      <Link
        href={`/sign-in?${new URLSearchParams({ next: `/invite/${token}` })}`}
        className="text-sm font-medium underline underline-offset-4"
      >
        Sign in as {invite.email || "the invited user"}
      </Link>
    </InviteCard>
  );
}

function InviteCard({ title, text, children }: { title: string; text: string; children: React.ReactNode }) {
  return (
    <Card>
      <CardHeader>
        <CardTitle className="text-xl">
          <h1>{title}</h1>
        </CardTitle>
        <CardDescription>{text}</CardDescription>
      </CardHeader>
      <CardContent>{children}</CardContent>
    </Card>
  );
}
