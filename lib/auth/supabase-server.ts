import "server-only";
import { createServerClient } from "@supabase/ssr";
import { cookies } from "next/headers";
import { connection } from "next/server";
import { cache } from "react";
import { getAppDeps, type SupabaseSettings } from "@/lib/app-deps";
import { type SupabaseSessionUser, verifiedUser } from "./supabase-claims";
import { nodeRealtimeOption } from "./supabase-node-realtime";

/**
 * A Supabase client over this request's cookies, for server components and server actions: a new
 * one per call, never shared between requests. Server components cannot write cookies; proxy.ts
 * has refreshed the session before the page renders, so nothing is lost when a write is refused.
 */
export async function createSupabaseServerClient(settings: SupabaseSettings) {
  const store = await cookies();
  return createServerClient(settings.url, settings.publishableKey, {
    ...nodeRealtimeOption,
    cookieOptions: { secure: getAppDeps().secureCookies },
    cookies: {
      getAll: () => store.getAll(),
      setAll(toSet) {
        try {
          for (const { name, value, options } of toSet) store.set(name, value, options);
        } catch {
          // A server component: the proxy writes refreshed cookies instead.
        }
      },
    },
  });
}

/**
 * Supabase mode: the user of this request's Supabase session, verified with getClaims() (the
 * project's signing keys, or Supabase Auth itself for HS256 tokens), member of an account or not.
 * Undefined in built-in mode. Cached per request.
 */
export const getSupabaseUser = cache(async (): Promise<SupabaseSessionUser | undefined> => {
  await connection(); // per request, never at build time
  const { supabase } = getAppDeps();
  if (!supabase) return undefined;
  return verifiedUser((await createSupabaseServerClient(supabase)).auth);
});

/** The cookies @supabase/ssr keeps the session in: `sb-<project ref>-auth-token`, maybe chunked (`.0`, `.1`…). */
const SESSION_COOKIES = /^sb-.+-auth-token(\.\d+)?$/;

/**
 * Ends this browser's Supabase session (scope "local": the user's other devices, and agents using
 * their tokens, keep theirs). Server actions only. Should Supabase Auth not answer, the cookies
 * are dropped anyway: signing out here must never fail.
 */
export async function endSupabaseSession(settings: SupabaseSettings) {
  const { error } = await (await createSupabaseServerClient(settings)).auth.signOut({ scope: "local" });
  if (!error) return;
  getAppDeps().log.warn({ err: error }, "Supabase Auth did not end the session; dropping its cookies");
  const store = await cookies();
  for (const { name } of store.getAll()) if (SESSION_COOKIES.test(name)) store.delete(name);
}
