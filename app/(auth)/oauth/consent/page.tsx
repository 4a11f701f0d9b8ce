import type { Metadata } from "next";
import { Card, CardContent, CardDescription, CardHeader, CardTitle } from "@/components/ui/card";
import { requireCurrentUser, userContext } from "@/lib/auth/current-user";
import { describeConsent } from "@/lib/auth/oauth/consent";
import { ConsentButtons } from "./consent-buttons";

export const metadata: Metadata = { title: "Allow access · Berth" };

/** An MCP client asks to use one of the account's connections (OAuth 2.1 consent). */
export default async function ConsentPage({ searchParams }: { searchParams: Promise<{ request?: string }> }) {
  const { request = "" } = await searchParams;
  const user = await requireCurrentUser();
  const consent = await describeConsent(userContext(user), request);
  if (!consent?.connection)
    return (
      <Card>
        <CardHeader>
          <CardTitle>
            <h1>Nothing to allow</h1>
          </CardTitle>
          <CardDescription>
            {consent
              ? `The connection asked for is not in ${user.accountName}. Switch to its account in the dashboard, then start again from your client.`
              : "This request has expired or was answered already. Start again from your MCP client."}
          </CardDescription>
        </CardHeader>
      </Card>
    );
  return (
    <Card>
      <CardHeader>
        <CardTitle>
          <h1>Allow {consent.clientName}?</h1>
        </CardTitle>
        <CardDescription>
          <strong>{consent.clientName}</strong> wants to use the connection <strong>{consent.connection.name}</strong> (
          {consent.connection.server}) of <strong>{user.accountName}</strong>, as you ({user.email || "your user"}).
        </CardDescription>
      </CardHeader>
      <CardContent className="grid gap-4 text-sm">
        <ul className="text-muted-foreground list-disc pl-5">
          <li>It can list and call this connection&apos;s tools, as its tool policy allows; no other connection.</li>
          <li>It never sees the connection&apos;s credentials.</li>
          <li>You can revoke it on the connection&apos;s page at any time.</li>
        </ul>
        <p className="text-muted-foreground text-xs">
          You will return to <span className="font-mono">{consent.redirectHost}</span>.
        </p>
        <ConsentButtons request={request} />
      </CardContent>
    </Card>
  );
}
