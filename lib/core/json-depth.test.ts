import { describe, expect, it } from "vitest";
import { nestsDeeper } from "./json-depth";

describe("nestsDeeper", () => {
  it("counts arrays and objects, not brackets inside strings or escaped quotes", () => {
    expect(nestsDeeper('{"a":[1,{"b":[]}]}', 4)).toBe(false);
    expect(nestsDeeper('{"a":[1,{"b":[[]]}]}', 4)).toBe(true);
    expect(nestsDeeper(`{"s":"${"[".repeat(1000)}\\"${"{".repeat(1000)}"}`, 1)).toBe(false);
    expect(nestsDeeper(`${"[".repeat(600)}${"]".repeat(600)}`, 512)).toBe(true);
    expect(nestsDeeper(`${"[".repeat(512)}${"]".repeat(512)}`, 512)).toBe(false);
  });
});
