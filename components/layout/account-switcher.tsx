"use client";

import { useRouter } from "next/navigation";
import { useTransition } from "react";
import { toast } from "sonner";
import { switchAccountAction } from "@/app/(dashboard)/account-actions";

/** The account the dashboard acts in, for a user who belongs to several. */
export function AccountSwitcher({
  current,
  accounts,
}: {
  current: string;
  accounts: { account_id: string; account_name: string; role: string }[];
}) {
  const router = useRouter();
  const [pending, start] = useTransition();
  if (accounts.length < 2) return null;
  return (
    <label className="flex items-center gap-2 text-sm">
      <span className="sr-only">Account</span>
      <select
        value={current}
        disabled={pending}
        onChange={(e) =>
          start(async () => {
            const answer = await switchAccountAction({ account_id: e.target.value });
            if (!answer.ok) toast.error(answer.error.message);
            else router.push("/dashboard");
            router.refresh();
          })
        }
        className="bg-background focus-visible:ring-ring h-9 max-w-44 rounded-md border px-2 text-sm outline-none focus-visible:ring-2"
        data-testid="account-switcher"
      >
        {accounts.map((a) => (
          <option key={a.account_id} value={a.account_id}>
            {a.account_name} ({a.role})
          </option>
        ))}
      </select>
    </label>
  );
}
