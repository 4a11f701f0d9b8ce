import type { Metadata } from "next";
import { redirect } from "next/navigation";
import { SignOutButton } from "@/components/auth/sign-out-button";
import { Card, CardContent, CardDescription, CardFooter, CardHeader, CardTitle } from "@/components/ui/card";
import { getCurrentUser } from "@/lib/auth/current-user";
import { getSupabaseUser } from "@/lib/auth/supabase-server";
import { signOutAction } from "../actions";

export const metadata: Metadata = { title: "No account · Berth" };

/** Supabase Auth: signed in, but Berth has no membership for this user yet. */
export default async function NoAccountPage() {
  if (await getCurrentUser()) redirect("/dashboard");
  const user = await getSupabaseUser();
  if (!user) redirect("/sign-in");

  return (
    <Card>
      <CardHeader>
        <CardTitle className="text-xl">Not a member of any account</CardTitle>
        <CardDescription>
          You are signed in{user.email ? ` as ${user.email}` : ""}, but you are not a member of any Berth account yet.
        </CardDescription>
      </CardHeader>
      <CardContent className="grid gap-3 text-sm">
        <p>Ask an owner of your account to run:</p>
        <pre className="bg-muted overflow-x-auto rounded-md p-3 text-xs" data-testid="members-add-command">
          npx berth members add --account &lt;account_id&gt; --user-id {user.userId}
        </pre>
        <p className="text-muted-foreground">Then reload this page.</p>
      </CardContent>
      <CardFooter className="border-t">
        <SignOutButton action={signOutAction} />
      </CardFooter>
    </Card>
  );
}
