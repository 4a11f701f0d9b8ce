import { hash, verify } from "@node-rs/argon2";

/** Argon2id with the library's defaults (OWASP-level cost). */
export const hashPassword = (password: string) => hash(password);

export async function verifyPassword(passwordHash: string | null, password: string) {
  if (!passwordHash) return false;
  try {
    return await verify(passwordHash, password);
  } catch {
    return false;
  }
}
