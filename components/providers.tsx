"use client";

import { QueryClient, QueryClientProvider } from "@tanstack/react-query";
import { type ReactNode, useState } from "react";
import type { SupabaseSettings } from "@/lib/app-deps";
import { setApiAuthHeaders } from "@/lib/client/api";

/**
 * One QueryClient per browser tab (per request on the server), never shared between users. With
 * Supabase Auth (`supabase` given), the tab's API calls are authenticated with the Supabase session
 * from here on: set while this first renders, so before any query or mutation of its children.
 */
export function Providers({
  children,
  supabase,
}: {
  children: ReactNode;
  supabase?: { settings: SupabaseSettings; accountId: string };
}) {
  const [client] = useState(() => {
    // In the browser only: on the server this module is shared by every request.
    // Supabase's client (~70 KB gzip) is loaded only where Supabase Auth signs in, on first use.
    if (supabase && typeof window !== "undefined")
      setApiAuthHeaders(async () => {
        const { supabaseApiHeaders } = await import("@/lib/client/supabase-browser");
        return supabaseApiHeaders(supabase.settings, supabase.accountId)();
      });
    return new QueryClient({
      // Server components hand over fresh data; do not refetch it the moment the page hydrates.
      defaultOptions: { queries: { staleTime: 5_000 } },
    });
  });
  return <QueryClientProvider client={client}>{children}</QueryClientProvider>;
}
