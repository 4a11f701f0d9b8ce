import { createHash } from "node:crypto";
import { describe, expect, it } from "vitest";
import { scrubSecrets, scrubTail } from "./credentials";

const TOKEN = "ghp_16CharactersOfSecret42";
/** A quote, a backslash, a space and a plus: its JSON and URL forms differ from the raw value. */
const PASSWORD = 'p@ss "word"\\ with+space';
/** The shortest value that is scrubbed at all. */
const SHORT = "z9Q#";
const secrets = { GITHUB_TOKEN: TOKEN, DB_PASSWORD: PASSWORD, PIN: SHORT, REGION: "eu", PORT: "443" };

const b64 = (b: Buffer) => b.toString("base64");
const reversed = (s: string) => [...s].reverse().join("");

/** The whole-value encodings a server (or a library it uses) commonly prints. */
function encodings(value: string): [string, string][] {
  const bytes = Buffer.from(value);
  return [
    ["raw", value],
    ["lower case", value.toLowerCase()],
    ["upper case", value.toUpperCase()],
    ["JSON-escaped", JSON.stringify(value).slice(1, -1)],
    ["base64", b64(bytes)],
    ["base64 without padding", b64(bytes).replace(/=+$/, "")],
    ["base64url", bytes.toString("base64url")],
    ["hex", bytes.toString("hex")],
    ["HEX", bytes.toString("hex").toUpperCase()],
    ["URL-encoded", encodeURIComponent(value)],
    ["form-encoded", encodeURIComponent(value).replaceAll("%20", "+")],
    ["reversed", reversed(value)],
  ];
}

/** Deterministic bytes that look random (so the innocent-text test cannot flake). */
function noise(bytes: number, seed = "noise") {
  const out: Buffer[] = [];
  for (let i = 0; out.length * 32 < bytes; i++) out.push(createHash("sha256").update(`${seed}-${i}`).digest());
  return Buffer.concat(out).subarray(0, bytes);
}

describe("scrubSecrets", () => {
  for (const value of [TOKEN, PASSWORD, SHORT]) {
    it.each(encodings(value))(`scrubs the %s form of ${JSON.stringify(value)}`, (_, encoded) => {
      expect(scrubSecrets(`error: ${encoded} (end)`, secrets)).toBe("error: [redacted] (end)");
    });
  }

  // Basic auth, a JWT or a JSON blob in base64 carry the value at any byte offset: every
  // character with a bit of the value in it must go, at each of the three alignments.
  for (const value of [TOKEN, PASSWORD]) {
    for (const alphabet of ["base64", "base64url"] as const) {
      it.each([3, 4, 5])(`scrubs ${JSON.stringify(value)} inside longer ${alphabet} after %i bytes`, (before) => {
        const secret = Buffer.from(value);
        const text = Buffer.concat([noise(before), secret, Buffer.from("user:tail")]).toString(alphabet);
        const first = Math.floor((before * 8) / 6); // the first character holding a bit of the value
        const end = Math.ceil(((before + secret.length) * 8) / 6);
        expect(scrubSecrets(`Authorization: Basic ${text}`, secrets)).toBe(
          `Authorization: Basic ${text.slice(0, first)}[redacted]${text.slice(end)}`,
        );
      });
    }
  }

  it("scrubs copies that overlap, which replacing one needle after another would leave half of", () => {
    const both = { A: "overlap-start-XYZW", B: "XYZW-overlap-end" };
    expect(scrubSecrets("[overlap-start-XYZW-overlap-end]", both)).toBe("[[redacted]]");
    expect(scrubSecrets("the longer one wins: overlap-start-XYZW-overlap-end!", { ...both, C: "start" })).toBe(
      "the longer one wins: [redacted]!",
    );
  });

  it("scrubs JSON's \\u escapes (Python's default) and a mixed-case hex dump of a non-ASCII value", () => {
    const value = "mot-de-passe-été";
    const ascii = value.replace(/[^\x20-\x7e]/g, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, "0")}`);
    expect(scrubSecrets(`{"password": "${ascii}"}`, { value })).toBe('{"password": "[redacted]"}');
    const hex = Buffer.from(value).toString("hex").replace(/c3/g, "C3");
    expect(scrubSecrets(`0x${hex}`, { value })).toBe("0x[redacted]");
    expect(scrubSecrets(value.toUpperCase(), { value })).toBe("[redacted]");
  });

  it("leaves innocent text alone, including random base64 and hex and values under 4 characters", () => {
    const text = [
      "Error: connect ECONNREFUSED 127.0.0.1:443 (region eu-west-1, RETRY ue 344)",
      "    at TCPConnectWrap.afterConnect [as oncomplete] (node:net:1555:16)",
      `{"level":"error","msg":"ghp_16CharactersOfSecret41 is not the token","code":"GHP_16CHARACTERS"}`,
      `cert: ${b64(noise(3000))}`,
      `sha256: ${noise(64).toString("hex")} ${noise(64).toString("hex").toUpperCase()}`,
      "https://api.github.com/user?q=p%40ss+word&z9Q=1",
    ].join("\n");
    expect(scrubSecrets(text, { ...secrets, EMPTY: "" })).toBe(text);
    expect(scrubSecrets(text, {})).toBe(text);
    expect(scrubSecrets("", secrets)).toBe("");
  });

  it("takes time linear in the tail's length with 50 credentials (no quadratic pass)", () => {
    const many = Object.fromEntries(
      Array.from({ length: 50 }, (_, i) => [`KEY_${i}`, noise(24 + i, `key-${i}`).toString("base64url")]),
    );
    const tail = (kib: number) =>
      `${b64(noise(8 * 1024))}\n${"plain log line with nothing to hide\n".repeat(200)}${many.KEY_7}`.slice(-kib * 1024);
    // The fastest of a few runs, so a busy machine's pauses do not count; compared in this run.
    const fastest = (text: string) => {
      let best = Number.POSITIVE_INFINITY;
      for (let i = 0; i < 5; i++) {
        const started = performance.now();
        expect(scrubSecrets(text, many).endsWith("\n[redacted]")).toBe(true);
        best = Math.min(best, performance.now() - started);
      }
      return best;
    };
    const small = fastest(tail(4));
    const large = fastest(tail(16));
    // 4× the text: ~4× the time when linear, 16× when quadratic.
    expect(large / small).toBeLessThan(10);
  });
});

describe("scrubTail", () => {
  it("scrubs before it cuts, so the cut never leaves a piece of a secret", () => {
    const text = `${"x".repeat(100)} ${TOKEN}tail`;
    const out = scrubTail(text, secrets, 12);
    expect(out.length).toBeLessThanOrEqual(12);
    expect(out.endsWith("tail")).toBe(true);
    expect(out).not.toMatch(/t42|ret/i);
  });

  it("scrubs a whole first line like any other", () => {
    expect(scrubTail(`whole first line ${TOKEN}\nnext line`, secrets)).toBe("whole first line [redacted]\nnext line");
  });

  it("keeps 4096 characters unless told otherwise", () => {
    const text = `${TOKEN}\n${"0123456789abcdef".repeat(1000)}`;
    const out = scrubTail(text, secrets);
    expect(out).toBe(text.slice(-4096));
    expect(scrubTail(text, secrets, 20)).toBe(text.slice(-20));
  });
});
