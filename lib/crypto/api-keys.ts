/** API keys are 32 random bytes; only their SHA-256 is stored, which is enough for keys this long. */
const PREFIX = "berth_";

export function generateApiKey(): { key: string; prefix: string } {
  const bytes = crypto.getRandomValues(new Uint8Array(32));
  const body = btoa(String.fromCharCode(...bytes))
    .replace(/\+/g, "-")
    .replace(/\//g, "_")
    .replace(/=+$/, "");
  const key = PREFIX + body;
  return { key, prefix: key.slice(0, PREFIX.length + 6) };
}

export const hashApiKey = (key: string): Promise<string> => sha256Hex(key);

/** The SHA-256 of a string, as lower-case hex (API keys, invitation tokens). */
export async function sha256Hex(key: string): Promise<string> {
  const digest = await crypto.subtle.digest("SHA-256", new TextEncoder().encode(key));
  return Array.from(new Uint8Array(digest), (b) => b.toString(16).padStart(2, "0")).join("");
}

export function looksLikeApiKey(value: string) {
  return value.startsWith(PREFIX) && value.length > PREFIX.length + 20 && value.length < 200;
}
