import type { Metadata } from "next";
import { MembersManager } from "@/components/members/members-manager";
import { getAppDeps } from "@/lib/app-deps";
import { requireCurrentUser, userContext } from "@/lib/auth/current-user";
import { listMembers } from "@/lib/core/services/members";

export const metadata: Metadata = { title: "Members · Berth" };

export default async function MembersPage() {
  const user = await requireCurrentUser();
  const members = (await listMembers(userContext(user))).data;
  return (
    <div className="grid gap-6">
      <div className="grid gap-1">
        <h1 className="text-2xl font-semibold tracking-tight">Members</h1>
        <p className="text-muted-foreground text-sm">
          Owners and admins install, delete and manage keys and members; members see connections, use the inspector,
          extend and restart.
        </p>
      </div>
      <MembersManager
        initialMembers={members}
        me={{ userId: user.userId, role: user.role }}
        invites={!getAppDeps().supabase}
      />
    </div>
  );
}
