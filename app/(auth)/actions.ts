"use server";

import { redirect } from "next/navigation";
import { getAppDeps } from "@/lib/app-deps";
import { endSession } from "@/lib/auth/current-user";
import { endSupabaseSession } from "@/lib/auth/supabase-server";

export async function signOutAction() {
  const { supabase } = getAppDeps();
  if (supabase) await endSupabaseSession(supabase);
  await endSession();
  redirect("/sign-in");
}
