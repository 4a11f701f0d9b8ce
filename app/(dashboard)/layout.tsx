import { Anchor } from "lucide-react";
import Link from "next/link";
import type { ReactNode } from "react";
import { signOutAction } from "@/app/(auth)/actions";
import { SignOutButton } from "@/components/auth/sign-out-button";
import { Providers } from "@/components/providers";
import { getAppDeps } from "@/lib/app-deps";
import { requireCurrentUser } from "@/lib/auth/current-user";

export default async function DashboardLayout({ children }: { children: ReactNode }) {
  const user = await requireCurrentUser();
  const { supabase } = getAppDeps();

  return (
    <Providers supabase={supabase && { settings: supabase, accountId: user.accountId }}>
      <div className="flex min-h-screen flex-col">
        <header className="bg-background border-b">
          <div className="mx-auto flex h-14 w-full max-w-6xl items-center justify-between gap-4 px-6">
            <Link href="/dashboard" className="flex items-center gap-2 font-semibold">
              <Anchor className="size-5" />
              Berth
            </Link>
            <div className="flex items-center gap-4">
              <div className="text-right text-sm leading-tight">
                <div className="font-medium" data-testid="account-name">
                  {user.accountName}
                </div>
                <div className="text-muted-foreground" data-testid="user-email">
                  {user.email}
                </div>
              </div>
              <SignOutButton action={signOutAction} />
            </div>
          </div>
        </header>
        <main className="mx-auto w-full max-w-6xl flex-1 px-6 py-8">{children}</main>
      </div>
    </Providers>
  );
}
