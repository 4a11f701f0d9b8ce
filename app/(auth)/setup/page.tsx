import type { Metadata } from "next";
import { redirect } from "next/navigation";
import { connection } from "next/server";
import { Card, CardContent, CardDescription, CardHeader, CardTitle } from "@/components/ui/card";
import { getAppDeps } from "@/lib/app-deps";
import { countUsers } from "@/lib/db/queries/accounts";
import { setUpAction } from "./actions";
import { SetupForm } from "./setup-form";

export const metadata: Metadata = { title: "Set up · Berth" };

/** First run: only while nobody exists yet; afterwards it is the sign-in page's job. */
export default async function SetupPage() {
  await connection(); // the answer depends on the database, never on the build
  if ((await countUsers(getAppDeps().db)) > 0) redirect("/sign-in");

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
