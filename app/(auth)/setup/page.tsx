import type { Metadata } from "next";
import Link from "next/link";
import { redirect } from "next/navigation";
import { connection } from "next/server";
import { Card, CardContent, CardDescription, CardHeader, CardTitle } from "@/components/ui/card";
import { getAppDeps } from "@/lib/app-deps";
import { isFirstRun } from "@/lib/core/services/accounts/first-run";
import { setUpAction } from "./actions";
import { SetupForm } from "./setup-form";

export const metadata: Metadata = { title: "Set up · Berth" };

/** First run: only while nobody exists yet; afterwards it is the sign-in page's job. */
export default async function SetupPage() {
  await connection(); // the answer depends on the database, never on the build
  const { db, supabase } = getAppDeps();
  if (supabase) return <SupabaseSetup />;
  if (!(await isFirstRun({ db }))) redirect("/sign-in");

  return (
    <Card>
      <CardHeader>
        <CardTitle className="text-xl">Set up Berth</CardTitle>
        <CardDescription>Create the first account and its owner. You will be signed in right away.</CardDescription>
      </CardHeader>
      <CardContent>
        <SetupForm action={setUpAction} />
      </CardContent>
    </Card>
  );
}

/** With Supabase Auth, users come from Supabase: accounts and access are the operator's, on the command line. */
function SupabaseSetup() {
  return (
    <Card>
      <CardHeader>
        <CardTitle className="text-xl">Set up Berth</CardTitle>
        <CardDescription>
          This Berth signs in with Supabase Auth, so there is no first-run setup here: users are Supabase&apos;s, and an
          operator gives them access.
        </CardDescription>
      </CardHeader>
      <CardContent className="grid gap-3 text-sm">
        <p>Create an account:</p>
        <pre className="bg-muted overflow-x-auto rounded-md p-3 text-xs">
          npx berth accounts create --name &lt;name&gt; --json
        </pre>
        <p>Then make a Supabase user (their user id, auth.uid()) its owner:</p>
        <pre className="bg-muted overflow-x-auto rounded-md p-3 text-xs">
          npx berth members add --account &lt;account_id&gt; --user-id &lt;user_id&gt; --role owner
        </pre>
        <p>
          <Link href="/sign-in" className="font-medium underline underline-offset-4">
            Sign in
          </Link>
        </p>
      </CardContent>
    </Card>
  );
}
