import type { Metadata } from "next";
import Link from "next/link";
import { redirect } from "next/navigation";
import { Card, CardContent, CardDescription, CardFooter, CardHeader, CardTitle } from "@/components/ui/card";
import { getAppDeps } from "@/lib/app-deps";
import { getCurrentUser } from "@/lib/auth/current-user";
import { getSupabaseUser } from "@/lib/auth/supabase-server";
import { countUsers } from "@/lib/db/queries/accounts";
import { signInAction, supabaseSignInAction } from "./actions";
import { SignInForm } from "./sign-in-form";

export const metadata: Metadata = { title: "Sign in · Berth" };

export default async function SignInPage() {
  if (await getCurrentUser()) redirect("/dashboard");
  const { db, supabase } = getAppDeps();
  if (supabase) {
    // Signed in, but a member of no account: the page that says so has the way out.
    if (await getSupabaseUser()) redirect("/no-account");
    return (
      <Card>
        <CardHeader>
          <CardTitle className="text-xl">Sign in</CardTitle>
          <CardDescription>Use your email and password.</CardDescription>
        </CardHeader>
        <CardContent>
          <SignInForm action={supabaseSignInAction} />
        </CardContent>
        <CardFooter className="border-t text-sm">
          <p className="text-muted-foreground">No access yet? An owner of your account can add you.</p>
        </CardFooter>
      </Card>
    );
  }
  const firstRun = (await countUsers(db)) === 0;

  return (
    <Card>
      <CardHeader>
        <CardTitle className="text-xl">Sign in</CardTitle>
        <CardDescription>Use the email and password of your Berth account.</CardDescription>
      </CardHeader>
      <CardContent>
        <SignInForm action={signInAction} />
      </CardContent>
      {firstRun && (
        <CardFooter className="border-t text-sm">
          <p className="text-muted-foreground">
            No account yet?{" "}
            <Link href="/setup" className="text-foreground font-medium underline underline-offset-4">
              Set up Berth
            </Link>
          </p>
        </CardFooter>
      )}
    </Card>
  );
}
