import type { Metadata } from "next";
import Link from "next/link";
import { redirect } from "next/navigation";
import { Card, CardContent, CardDescription, CardFooter, CardHeader, CardTitle } from "@/components/ui/card";
import { getAppDeps } from "@/lib/app-deps";
import { getCurrentUser } from "@/lib/auth/current-user";
import { nextPath } from "@/lib/auth/next-path";
import { getSupabaseUser } from "@/lib/auth/supabase-server";
import { isFirstRun } from "@/lib/core/services/accounts/first-run";
import { signInAction, supabaseSignInAction } from "./actions";
import { SignInForm } from "./sign-in-form";

export const metadata: Metadata = { title: "Sign in · Berth" };

export default async function SignInPage({ searchParams }: { searchParams: Promise<{ next?: string | string[] }> }) {
  const asked = (await searchParams).next;
  const next = nextPath(typeof asked === "string" ? asked : undefined);
  if (await getCurrentUser()) redirect(next);
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
          <SignInForm action={supabaseSignInAction} next={next} />
        </CardContent>
        <CardFooter className="border-t text-sm">
          <p className="text-muted-foreground">No access yet? An owner of your account can add you.</p>
        </CardFooter>
      </Card>
    );
  }
  const firstRun = await isFirstRun({ db });

  return (
    <Card>
      <CardHeader>
        <CardTitle className="text-xl">Sign in</CardTitle>
        <CardDescription>Use the email and password of your Berth account.</CardDescription>
      </CardHeader>
      <CardContent>
        <SignInForm action={signInAction} next={next} />
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
