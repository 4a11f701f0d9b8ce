import { z } from "zod";
import { envNameProblem, envValueProblem } from "@/lib/core/env-names";
import { BerthError, type FieldError, fieldErrors } from "@/lib/core/errors";
import type { ServerRow } from "@/lib/db/queries/servers";

/**
 * Checks credentials against the definition's JSON Schema and turns them into environment
 * values. Only the schema's declared properties are accepted, whatever else the schema allows
 * (`additionalProperties`, `patternProperties`): a credential becomes an environment variable,
 * and which variables a server gets is the definition's to declare, never the caller's. Error
 * details name the field, never its value.
 */
export function validateCredentials(server: ServerRow, credentials: Record<string, unknown>): Record<string, string> {
  const declared = new Set(Object.keys((server.credential_schema.properties as object | undefined) ?? {}));
  const refused: FieldError[] = [];
  for (const [key, value] of Object.entries(credentials)) {
    const problem = !declared.has(key)
      ? "Unknown field."
      : (envNameProblem(key) ?? (typeof value === "string" ? envValueProblem(value) : undefined));
    if (problem) refused.push({ path: `credentials.${key}`, message: problem });
  }
  const schema = z.fromJSONSchema({ ...server.credential_schema, additionalProperties: false } as Parameters<
    typeof z.fromJSONSchema
  >[0]);
  const parsed = schema.safeParse(credentials);
  const mismatched = parsed.success
    ? []
    : fieldErrors(parsed.error.issues, "credentials")
        .filter((d) => !refused.some((r) => r.path === d.path))
        .map((d) => {
          const key = d.path.slice("credentials.".length);
          // zod says a missing field is one "received undefined": say what it is.
          return { ...d, message: key && !(key in credentials) ? "Required." : scrub(d.message) };
        });
  if (refused.length || mismatched.length) {
    throw new BerthError("bad_request", "The credentials do not match the server's credential schema.", [
      ...refused,
      ...mismatched,
    ]);
  }
  return Object.fromEntries(Object.entries(parsed.data as Record<string, unknown>).map(([k, v]) => [k, String(v)]));
}

/**
 * A connection authorized through upstream OAuth keeps its refresh token in its encrypted
 * credentials, under a key no environment variable can have: rotating the encryption key
 * re-encrypts it with them, and the token answer's values and the refresh token that came with
 * them are stored in one write. Pasting credentials replaces the lot (OAuth no longer manages it).
 */
const REFRESH_TOKEN = ":oauth_refresh_token";

/** The stored credentials as the server's environment: without the refresh token. */
export function serverEnvOf(stored: Record<string, string>): Record<string, string> {
  const { [REFRESH_TOKEN]: _, ...env } = stored;
  return env;
}

export const refreshTokenOf = (stored: Record<string, string>): string | undefined => stored[REFRESH_TOKEN];

export const withRefreshToken = (env: Record<string, string>, refreshToken: string | undefined) =>
  refreshToken ? { ...env, [REFRESH_TOKEN]: refreshToken } : env;

/**
 * The definition as an install that connects through OAuth sees it: the credentials the token
 * answer fills (`oauth.env`) are not asked for, and may not be given.
 */
export function withoutOAuthFilled(server: ServerRow): ServerRow {
  const filled = new Set(Object.keys(server.oauth?.env ?? {}));
  const schema = server.credential_schema as { properties?: Record<string, unknown>; required?: string[] };
  const properties = Object.fromEntries(Object.entries(schema.properties ?? {}).filter(([k]) => !filled.has(k)));
  const required = (schema.required ?? []).filter((k) => !filled.has(k));
  return { ...server, credential_schema: { ...schema, properties, required } };
}

/** zod may quote the received value in a message (e.g. for enums); secrets must not echo back. */
function scrub(message: string) {
  return message.replace(/received .*/i, "received an invalid value");
}

const MASK = "[redacted]";

/**
 * Values shorter than this are never scrubbed: env values like "eu", "443" or "1" are not
 * secrets, masking them would garble innocent text all over a log, and a value that short could
 * be guessed anyway.
 */
const MIN_SECRET_CHARS = 4;

/**
 * The fewest base64 digits (6 bits each, so 36 bits) made only of a value's bits that are
 * scrubbed inside longer base64. Even a tail of pure random base64 holds one of 150 such runs
 * (50 values, 3 alignments) by chance only about once in 30,000 scrubs of 16 KiB, and a chance
 * hit masks a few characters of a blob; 6 still covers values of 5 bytes or more at every
 * alignment (a 4-byte value only as a base64 text of its own).
 */
const MIN_BASE64_RUN = 6;

const BASE64 = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

/** One alternative of the combined pattern; `length` (its shortest match) orders them longest first. */
type Needle = { source: string; length: number };

/** Escapes one UTF-16 unit so it means itself inside or outside a character class, with or without the u flag. */
const escapeUnit = (c: string) => (/[A-Za-z0-9_]/.test(c) ? c : `\\u${c.charCodeAt(0).toString(16).padStart(4, "0")}`);

const literal = (s: string): Needle => ({ source: s.split("").map(escapeUnit).join(""), length: s.length });

/**
 * Matches `s` in any letter case. Per-letter classes rather than the i flag, because base64 must
 * stay case-sensitive in the same pattern; letters whose other case is longer (ß → SS) stay as they
 * are, and the value's whole upper and lower case are needles of their own for them.
 */
function caseless(s: string): Needle {
  let source = "";
  for (let i = 0; i < s.length; i++) {
    const c = s.charAt(i);
    const lower = c.toLowerCase();
    const upper = c.toUpperCase();
    source +=
      lower !== upper && lower.length === 1 && upper.length === 1
        ? `[${escapeUnit(lower)}${escapeUnit(upper)}]`
        : escapeUnit(c);
  }
  return { source, length: s.length };
}

/** A base64 digit's characters in either alphabet (+/ or -_), so base64url copies match the same needle. */
const digitChars = (index: number) =>
  index === 62 ? "\\u002b\\u002d" : index === 63 ? "\\u002f_" : (BASE64[index] as string);

/** The digits whose 6-bit value satisfies `keep`, as a character class. */
function digitClass(keep: (index: number) => boolean) {
  let chars = "";
  for (let i = 0; i < 64; i++) if (keep(i)) chars += digitChars(i);
  return `[${chars}]`;
}

const digit = (index: number) => (index < 62 ? (BASE64[index] as string) : `[${digitChars(index)}]`);

/**
 * The value's bytes inside longer base64, starting `offset` (0–2) bytes into a 3-byte group: the
 * run of digits made only of its bits, plus the partial digits at either end (which hold some of
 * its bits next to a neighbour's), so that no bit of the value is left readable.
 */
function base64Needle(bytes: Buffer, offset: number): Needle | undefined {
  const digits = Buffer.concat([Buffer.alloc(offset), bytes])
    .toString("base64")
    .replace(/=+$/, "");
  const startBit = offset * 8;
  const endBit = startBit + bytes.length * 8;
  const first = Math.ceil(startBit / 6);
  const end = Math.floor(endBit / 6);
  if (end - first < MIN_BASE64_RUN) return undefined;
  let source = "";
  for (let i = first; i < end; i++) source += digit(BASE64.indexOf(digits.charAt(i)));
  const leadBits = first * 6 - startBit; // the value's bits in the digit before the run (its low bits)
  if (leadBits) {
    const lead = BASE64.indexOf(digits.charAt(first - 1)) & ((1 << leadBits) - 1);
    source = `${digitClass((i) => (i & ((1 << leadBits) - 1)) === lead)}?${source}`;
  }
  const trailBits = endBit - end * 6; // the value's bits in the digit after the run (its high bits)
  if (trailBits) {
    const trail = BASE64.indexOf(digits.charAt(end)) >> (6 - trailBits);
    source += `${digitClass((i) => i >> (6 - trailBits) === trail)}?`;
  }
  return { source, length: end - first };
}

/** Every form of one value to scrub: raw in any case, escaped, encoded, reversed. */
function needlesOf(value: string): Needle[] {
  const bytes = Buffer.from(value, "utf8");
  const json = JSON.stringify(value).slice(1, -1);
  const url = encodeURIComponent(value);
  const needles = [
    caseless(value),
    caseless(value.toUpperCase()),
    caseless(value.toLowerCase()),
    caseless(json),
    // Python's json.dumps and others escape every non-ASCII character.
    caseless(json.replace(/[^\x20-\x7e]/g, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, "0")}`)),
    caseless(url), // caseless also covers lower-case %xx
    caseless(url.replaceAll("%20", "+")),
    caseless(new URLSearchParams({ v: value }).toString().slice(2)),
    caseless([...value].reverse().join("")),
    caseless(bytes.toString("hex")),
    // The value's own base64 text, padding included: the only base64 form of a 4-byte value caught.
    literal(bytes.toString("base64")),
    literal(bytes.toString("base64url")),
  ];
  for (const offset of [0, 1, 2]) {
    const needle = base64Needle(bytes, offset);
    if (needle) needles.push(needle);
  }
  return needles;
}

/**
 * Replaces every credential value in text (e.g. a server's stderr) with a mask, in the forms a
 * server or its libraries commonly print it: raw in any letter case, JSON-escaped, URL-encoded,
 * hex, base64 or base64url (alone or at any offset in longer base64) and reversed. One pattern
 * finds every needle starting at each position, so overlapping copies are masked together.
 */
export function scrubSecrets(text: string, secrets: Record<string, string>): string {
  if (!text) return text;
  const pattern = scrubPattern(
    Object.values(secrets).filter((v) => typeof v === "string" && v.length >= MIN_SECRET_CHARS),
  );
  if (!pattern) return text;
  let out = "";
  let kept = 0; // text before this is in `out` already
  let maskedTo = -1; // end of the masked span being built
  for (const m of text.matchAll(pattern)) {
    const start = m.index as number;
    const end = start + (m[1] as string).length;
    if (start > maskedTo) {
      if (maskedTo >= 0) out += MASK;
      out += text.slice(kept, start);
    }
    maskedTo = Math.max(maskedTo, end);
    kept = maskedTo;
  }
  if (maskedTo >= 0) out += MASK;
  return out + text.slice(kept);
}

const patterns = new Map<string, RegExp | undefined>();
const MAX_PATTERNS = 64;

/**
 * The one pattern of every needle of these values, made once per set of values (a pattern of a
 * few KiB of credentials takes tens of milliseconds to build; restarts and retries reuse it).
 */
function scrubPattern(values: string[]): RegExp | undefined {
  const key = values.join("\u0000");
  if (patterns.has(key)) return patterns.get(key);
  const needles = new Map<string, Needle>();
  for (const value of values) {
    for (const n of needlesOf(value)) if (n.length > 0 && !needles.has(n.source)) needles.set(n.source, n);
  }
  // Longest first: at each position the alternation takes the first needle that matches.
  const sources = [...needles.values()].sort((a, b) => b.length - a.length).map((n) => n.source);
  // A lookahead matches no characters, so every position is tried, not only those after a match.
  const pattern = sources.length ? new RegExp(`(?=(${sources.join("|")}))`, "g") : undefined;
  if (patterns.size >= MAX_PATTERNS) patterns.delete(patterns.keys().next().value as string);
  patterns.set(key, pattern);
  return pattern;
}

/**
 * The last `maxChars` characters of a server's output, secrets scrubbed first so the cut can't
 * leave part of one unrecognised. The output itself starts at a whole line (OutputTail keeps
 * whole lines only), so no secret is cut before it reaches here.
 */
export function scrubTail(text: string, secrets: Record<string, string>, maxChars = 4096): string {
  const scrubbed = scrubSecrets(text, secrets);
  return scrubbed.slice(Math.max(0, scrubbed.length - maxChars));
}
