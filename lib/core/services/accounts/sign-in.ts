import { z } from "zod";
import { BerthError } from "@/lib/core/errors";
import type { Db } from "@/lib/db/db";
import { getUserByEmail, listMembershipsOfUser } from "@/lib/db/queries/accounts";

export const SignInInput = z.object({
  email: z
    .string()
    .trim()
    .toLowerCase()
    .pipe(z.email({ error: "Enter an email address." })),
  password: z.string().min(1, { error: "Enter your password." }).max(1024),
});
export type SignInInput = z.infer<typeof SignInInput>;

/**
 * Verified against when the email is unknown, so that a missing user costs the same Argon2
 * time as a wrong password and response times do not reveal which emails exist.
 */
const DECOY_HASH = "$argon2id$v=19$m=19456,t=2,p=1$AKrBNzK78gB8qGHPGjbvMg$PiiQiwGgWJbfsecZwb5qYOZPlwayU1nVV8q33nuV0FM";

/**
 * Checks an email and password and answers the session to open: the user and their oldest
 * account. One message for every credential failure, so it never tells which part was wrong.
 */
export async function signIn(
  deps: { db: Db; verifyPassword(hash: string | null, password: string): Promise<boolean> },
  input: SignInInput,
): Promise<{ userId: string; accountId: string }> {
  const user = await getUserByEmail(deps.db, { email: input.email });
  const ok = await deps.verifyPassword(user?.password_hash ?? DECOY_HASH, input.password);
  if (!user || !ok) throw new BerthError("unauthorized", "Wrong email or password.");

  const [membership] = await listMembershipsOfUser(deps.db, { userId: user.id });
  if (!membership) throw new BerthError("unauthorized", "This user is not a member of any account.");
  return { userId: user.id, accountId: membership.account_id };
}
