import path from "node:path";
import { describe, expect, it } from "vitest";
import { splitCommand } from "@/lib/core/command-line";
import { PROJECT_MODULES, resolvePreparedCommand } from "./start-command";

describe("splitCommand", () => {
  it("splits like a shell, honouring quotes, without running one", () => {
    expect(splitCommand(`node -e "console.log('a b')" --flag='x y'`)).toEqual([
      "node",
      "-e",
      "console.log('a b')",
      "--flag=x y",
    ]);
  });
  it.each(["a | b", "a > out", "a && b", "a; b", "echo *"])("refuses shell syntax: %s", (line) => {
    expect(() => splitCommand(line)).toThrow(/shell syntax/);
  });
  it("keeps $VAR literal instead of expanding it", () => {
    expect(splitCommand("echo $HOME")).toEqual(["echo", "$HOME"]);
  });
});

describe("resolvePreparedCommand", () => {
  it("runs a prepared package's bin with node when the version matches", () => {
    const argv = resolvePreparedCommand(
      ["npx", "-y", "@modelcontextprotocol/server-memory@2026.8.31", "--x"],
      PROJECT_MODULES,
      "/node",
    );
    expect(argv[0]).toBe("/node");
    expect(argv[1]).toBe(path.resolve("node_modules/@modelcontextprotocol/server-memory/dist/index.js"));
    expect(argv[2]).toBe("--x");
  });
  it("leaves other versions, unknown packages and other commands to npx", () => {
    for (const argv of [
      ["npx", "-y", "@modelcontextprotocol/server-memory@1.0.0"],
      ["npx", "-y", "no-such-package-here@1.0.0"],
      ["uvx", "something"],
    ]) {
      expect(resolvePreparedCommand(argv, PROJECT_MODULES)).toEqual(argv);
    }
  });
});
