import { Anchor } from "lucide-react";
import Link from "next/link";
import type { ReactNode } from "react";
import { signOutAction } from "@/app/(auth)/actions";
import { SignOutButton } from "@/components/auth/sign-out-button";
import { AccountSwitcher } from "@/components/layout/account-switcher";
import { NavLinks } from "@/components/layout/nav-links";
import { ThemeToggle } from "@/components/layout/theme-toggle";
import { Providers } from "@/components/providers";
import { getAppDeps } from "@/lib/app-deps";
import { requireCurrentUser, userContext } from "@/lib/auth/current-user";
import { listMyAccounts } from "@/lib/core/services/accounts/memberships";

export default async function DashboardLayout({ children }: { children: ReactNode }) {
  const user = await requireCurrentUser();
  const { supabase } = getAppDeps();
  const accounts = await listMyAccounts(userContext(user));

  return (
    <Providers supabase={supabase && { settings: supabase, accountId: user.accountId }}>
      <div className="flex min-h-screen flex-col">
        <a
          href="#main"
          className="focus:bg-background sr-only focus:not-sr-only focus:absolute focus:top-2 focus:left-2 focus:z-50 focus:rounded focus:p-2"
        >
          Skip to content
        </a>
        <header className="bg-background border-b">
          <div className="mx-auto grid w-full max-w-6xl gap-2 px-4 py-3 sm:px-6">
            <div className="flex items-center justify-between gap-3">
              <Link href="/dashboard" className="flex items-center gap-2 font-semibold">
                <Anchor className="size-5" aria-hidden />
                Berth
              </Link>
              <div className="flex min-w-0 items-center gap-2 sm:gap-3">
                <AccountSwitcher current={user.accountId} accounts={accounts} />
                <div className="hidden min-w-0 text-right text-sm leading-tight sm:block">
                  <div className="truncate font-medium" data-testid="account-name">
                    {user.accountName}
                  </div>
                  <div className="text-muted-foreground truncate">
                    <span data-testid="user-email">{user.email}</span> ·{" "}
                    <span data-testid="user-role">{user.role}</span>
                  </div>
                </div>
                <ThemeToggle />
                <SignOutButton action={signOutAction} />
              </div>
            </div>
            <NavLinks />
          </div>
        </header>
        <main id="main" className="mx-auto w-full max-w-6xl min-w-0 flex-1 px-4 py-8 sm:px-6">
          {children}
        </main>
      </div>
    </Providers>
  );
}
