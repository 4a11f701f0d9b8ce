import type { Metadata } from "next";
import { SettingsForm } from "@/components/settings/settings-form";
import { requireCurrentUser, userContext } from "@/lib/auth/current-user";
import { getAccountSettings } from "@/lib/core/services/settings";

export const metadata: Metadata = { title: "Settings · Berth" };

export default async function SettingsPage() {
  const user = await requireCurrentUser();
  const settings = await getAccountSettings(userContext(user));
  return (
    <div className="grid max-w-2xl gap-6">
      <h1 className="text-2xl font-semibold tracking-tight">Settings</h1>
      <SettingsForm initial={settings} canEdit={user.role !== "member"} />
    </div>
  );
}
