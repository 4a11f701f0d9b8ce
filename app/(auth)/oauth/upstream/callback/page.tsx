import { redirect } from "next/navigation";
import { requireCurrentUser, userContext } from "@/lib/auth/current-user";
import { completeAuthorization } from "@/lib/core/services/connections/upstream-oauth";

/**
 * Where an upstream OAuth provider ("Connect with GitHub") sends the browser back. Signed in
 * first (the proxy sends a visitor without a session to sign in and back here), so that only an
 * owner or admin of the account that started the flow completes it; then on to where it started.
 */
export default async function UpstreamCallbackPage({
  searchParams,
}: {
  searchParams: Promise<Record<string, string | string[] | undefined>>;
}) {
  const user = await requireCurrentUser();
  const params = new URLSearchParams();
  for (const [k, v] of Object.entries(await searchParams)) if (typeof v === "string") params.set(k, v);
  const { location } = await completeAuthorization(userContext(user), params);
  redirect(location);
}
