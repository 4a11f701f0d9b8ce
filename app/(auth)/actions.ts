"use server";

import { redirect } from "next/navigation";
import { endSession } from "@/lib/auth/current-user";

export async function signOutAction() {
  await endSession();
  redirect("/sign-in");
}
