import { createBrowserClient } from "@supabase/ssr";
import type { SupabaseSettings } from "@/lib/app-deps";

/**
 * The tab's Supabase client (createBrowserClient keeps one per tab), over the session cookies the
 * server wrote at sign-in. It refreshes the access token before it expires and writes the new
 * cookies back, which the proxy and the server then read.
 */
export function supabaseBrowserClient(settings: SupabaseSettings) {
  return createBrowserClient(settings.url, settings.publishableKey, {
    // As the server sets them: Secure whenever the dashboard is served over https.
    cookieOptions: { secure: window.location.protocol === "https:" },
  });
}

/**
 * What authenticates the dashboard's REST calls as the signed-in Supabase user: the session's
 * access token as a Bearer (the API verifies it; reading it with getSession() is fine here, the
 * browser decides nothing with it) and the account the page shows (`Berth-Account`).
 */
export function supabaseApiHeaders(settings: SupabaseSettings, accountId: string) {
  return async (): Promise<Record<string, string>> => {
    const { data } = await supabaseBrowserClient(settings).auth.getSession();
    const token = data.session?.access_token;
    return token ? { authorization: `Bearer ${token}`, "berth-account": accountId } : {};
  };
}
