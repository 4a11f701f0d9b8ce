import { describe, expect, it } from "vitest";
import { checkFailure, quotedFailure } from "./credential-check";

const TOKEN = "xoxb-16CharactersOfSecret42";
const text = (t: string) => ({ type: "text", text: t });

describe("what a check call's result says about the credentials", () => {
  it("fails on an error result, in the server's own words", () => {
    expect(checkFailure({ content: [text("Bad credentials"), text("(401)")], isError: true })).toBe(
      "Bad credentials\n(401)",
    );
    expect(checkFailure({ content: [{ type: "image", data: "" }], isError: true })).toBe(
      "The tool answered an error without a message.",
    );
  });

  it("fails on a text holding the definition's error_text, passes otherwise", () => {
    const slack = { content: [text('{"ok":false,"error":"invalid_auth"}')] };
    expect(checkFailure(slack, '"error":')).toBe('{"ok":false,"error":"invalid_auth"}');
    expect(checkFailure(slack)).toBeUndefined();
    expect(checkFailure({ content: [text('{"ok":true,"members":[]}')] }, '"error":')).toBeUndefined();
    expect(checkFailure({ content: [], isError: false })).toBeUndefined();
  });

  it("quotes a failure with the credentials masked, cut short", () => {
    expect(quotedFailure(`token ${TOKEN} is invalid`, { SLACK_BOT_TOKEN: TOKEN })).toBe("token [redacted] is invalid");
    const long = quotedFailure(`${"x".repeat(5000)} ${TOKEN}`, { SLACK_BOT_TOKEN: TOKEN });
    expect(long).toHaveLength(1001);
    expect(long.endsWith("…")).toBe(true);
  });

  it("scans a very long text only to its last whole line, so no secret is left cut in two", () => {
    // Masked, the first line shrinks to one mask; the 64 KiB cut falls 4 characters into the last
    // copy, which a scrub of the cut text would not recognise and the quote would then show.
    const text = `${TOKEN.repeat(2426)}\nab${TOKEN}${TOKEN}`;
    expect(text.indexOf(TOKEN, 65505 + TOKEN.length)).toBe(65532);
    const quoted = quotedFailure(text, { SLACK_BOT_TOKEN: TOKEN });
    expect(quoted).toBe("[redacted]");
  });
});
