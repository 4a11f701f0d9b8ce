import { describe, expect, it } from "vitest";
import { ServerDefinitionInput } from "@/lib/core/schemas/server-definition";
import { unstorableText } from "./unstorable-text";

describe("unstorableText", () => {
  it("finds NULs and lone surrogates in values and keys, at any depth, and passes paired ones", () => {
    const value = JSON.parse(
      '{"a":"x\\u0000","b":{"\\ud800":1,"c":["ok \\ud83d\\udca5","\\udc00 low first"]},"d":"\\ud83d"}',
    );
    expect(unstorableText(value)).toEqual([
      { path: "a", message: "Must not contain a NUL character." },
      { path: "b.c.1", message: expect.stringMatching(/lone surrogate/) },
      { path: "b.\ud800", message: expect.stringMatching(/lone surrogate/) },
      { path: "d", message: expect.stringMatching(/lone surrogate/) },
    ]);
    expect(unstorableText({ emoji: "\ud83d\udca5", text: "plain" })).toEqual([]);
  });

  it("refuses a definition whose tools hold a lone surrogate (PostgreSQL's json answered a 500)", () => {
    const parsed = ServerDefinitionInput.safeParse({
      slug: "s",
      title: "T",
      start_command: "npx -y x@1",
      tools: ["\ud800"],
    });
    expect(parsed.success).toBe(false);
    expect(parsed.error?.issues.map((i) => [i.path.join("."), i.message])).toEqual([
      ["tools.0", expect.stringMatching(/lone surrogate/)],
    ]);
  });
});
