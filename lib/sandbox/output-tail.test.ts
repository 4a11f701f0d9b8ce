import { describe, expect, it } from "vitest";
import { lastLines, OutputTail } from "./output-tail";

const TOKEN = "ghp_16CharactersOfSecret42";

describe("the end of a server's output", () => {
  it("drops a first line the cut went into: the rest of a secret there could not be recognised", () => {
    const cut = TOKEN.slice(TOKEN.length - 12);
    const text = `${cut} and more\nnext line\nlast line`;
    expect(lastLines(text, text.length - 1)).toBe("next line\nlast line");
    expect(lastLines(`${cut} with no line break`, 10)).toBe("");
    expect(lastLines(text, text.length)).toBe(text); // nothing cut, nothing dropped
  });

  it("keeps whole lines of the last 16 KiB, however much came", () => {
    const tail = new OutputTail();
    tail.push(`${TOKEN}\n`);
    for (let i = 0; i < 5000; i++) tail.push(`line ${i}\n`);
    const text = tail.text();
    expect(text.length).toBeLessThanOrEqual(16 * 1024);
    expect(text).not.toContain("ghp_");
    expect(text.split("\n")[0]).toMatch(/^line \d+$/);
    expect(text.endsWith("line 4999")).toBe(true);
  });
});
