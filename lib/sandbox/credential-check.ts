import { scrubSecrets } from "@/lib/core/services/connections/credentials";

/** How long a check's tool call may take: a real API answers one small read in a second or two. */
export const CHECK_TIMEOUT_MS = 20_000;

/**
 * How much of a failed check's text is scrubbed: scrubbing costs time in proportion to the text,
 * on the event loop every tenant shares, and an error worth reading is short. A longer text is cut
 * back to its last whole line within it, so no secret is cut in two and left unrecognised.
 */
const SCANNED_CHARS = 64 * 1024;

/** How much of it the answer quotes. */
const QUOTED_CHARS = 1000;

/**
 * Why a check's `tools/call` result says the credentials do not work, in the server's own words
 * (its text content), or undefined when it does not. Servers that report API failures as ordinary
 * text (Slack's `{"ok":false,…}`) are caught by `errorText`, a string such a text contains.
 */
export function checkFailure(result: unknown, errorText?: string): string | undefined {
  const { isError, content } = (result ?? {}) as { isError?: unknown; content?: unknown };
  const text = (Array.isArray(content) ? content : [])
    .filter((c): c is { text: string } => c?.type === "text" && typeof c.text === "string")
    .map((c) => c.text)
    .join("\n");
  if (isError === true) return text || "The tool answered an error without a message.";
  if (errorText && text.includes(errorText)) return text;
  return undefined;
}

/** A failure's message as an answer may quote it: credentials masked, at most QUOTED_CHARS. */
export function quotedFailure(message: string, secrets: Record<string, string>): string {
  const scanned =
    message.length > SCANNED_CHARS ? message.slice(0, message.lastIndexOf("\n", SCANNED_CHARS) + 1) : message;
  const scrubbed = scrubSecrets(scanned, secrets).trim();
  return scrubbed.length > QUOTED_CHARS ? `${scrubbed.slice(0, QUOTED_CHARS)}…` : scrubbed;
}
