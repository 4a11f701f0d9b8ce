import type { ApiKeyCache } from "@/lib/auth/api-key-cache";
import type { AuthOptions } from "@/lib/auth/authenticate";
import type { BerthOAuthProvider } from "@/lib/auth/oauth/provider";
import type { HttpDeps } from "@/lib/core/http/route";

/**
 * What the Next.js side (route handlers, pages, server actions) gets from Berth's server
 * process. server.ts builds it once and publishes it on globalThis, because Next bundles its
 * own copy of every module and must not open a second database or sandbox runtime.
 */
export type AppDeps = HttpDeps & {
  sessionPassword: string;
  /** How callers are recognised (the MCP gateway authenticates with the same). */
  auth: AuthOptions;
  /** The MCP gateway's API key cache; `onApiKeyRevoked` drops a revoked key from it. */
  apiKeyCache: ApiKeyCache;
  /** Berth as the OAuth 2.1 authorization server of its MCP endpoints (the consent page answers through it). */
  oauth: BerthOAuthProvider;
  secureCookies: boolean;
  hashPassword(password: string): Promise<string>;
  verifyPassword(hash: string | null, password: string): Promise<boolean>;
  providerInfo: { name: string; isolated: boolean };
  /**
   * Set when the dashboard signs in through Supabase Auth (NEXT_PUBLIC_SUPABASE_URL and
   * NEXT_PUBLIC_SUPABASE_PUBLISHABLE_KEY): read at run time from here, never inlined at build time,
   * so one build serves either sign-in. Both values are public; the browser gets them too.
   */
  supabase?: SupabaseSettings;
};

export type SupabaseSettings = { url: string; publishableKey: string };

const KEY = Symbol.for("berth.app-deps");

export function publishAppDeps(deps: AppDeps) {
  (globalThis as Record<symbol, unknown>)[KEY] = deps;
}

export function getAppDeps(): AppDeps {
  const deps = (globalThis as Record<symbol, unknown>)[KEY] as AppDeps | undefined;
  if (!deps)
    throw new Error("Berth's server is not running in this process: start it with `npm start`, not `next start`.");
  return deps;
}
