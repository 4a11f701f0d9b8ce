import { z } from "zod";
import { BerthError, fieldErrors } from "@/lib/core/errors";
import type { ServerRow } from "@/lib/db/queries/servers";

/**
 * Checks credentials against the definition's JSON Schema and turns them into environment
 * values. Error details name the field, never its value.
 */
export function validateCredentials(server: ServerRow, credentials: Record<string, unknown>): Record<string, string> {
  const schema = z.fromJSONSchema({ additionalProperties: false, ...server.credential_schema } as Parameters<
    typeof z.fromJSONSchema
  >[0]);
  const parsed = schema.safeParse(credentials);
  if (!parsed.success) {
    throw new BerthError(
      "bad_request",
      "The credentials do not match the server's credential schema.",
      fieldErrors(parsed.error.issues, "credentials").map((d) => {
        const key = d.path.slice("credentials.".length);
        // zod says a missing field is one "received undefined": say what it is.
        return { ...d, message: key && !(key in credentials) ? "Required." : scrub(d.message) };
      }),
    );
  }
  return Object.fromEntries(Object.entries(parsed.data as Record<string, unknown>).map(([k, v]) => [k, String(v)]));
}

/** zod may quote the received value in a message (e.g. for enums); secrets must not echo back. */
function scrub(message: string) {
  return message.replace(/received .*/i, "received an invalid value");
}

/** Replaces every credential value in text (e.g. a server's stderr) with a mask. */
export function scrubSecrets(text: string, secrets: Record<string, string>) {
  let out = text;
  for (const v of Object.values(secrets)) if (v.length >= 4) out = out.split(v).join("[redacted]");
  return out;
}
