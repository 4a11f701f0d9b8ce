import { describe, expect, it } from "vitest";
import { nextPath, signInPathFor } from "./next-path";

describe("nextPath", () => {
  it("keeps a local path and its query", () => {
    expect(nextPath("/dashboard/connections/1?tab=tools")).toBe("/dashboard/connections/1?tab=tools");
  });
  it.each([
    null,
    "",
    "dashboard",
    "//evil.example/x",
    "/\\evil.example",
    "https://evil.example/",
    "/\u0000x",
    "/\tx",
    "/.//evil.example",
    "/x/..//evil.example/y",
    "/./\\evil.example",
  ])("refuses %j: the dashboard instead", (asked) => {
    expect(nextPath(asked)).toBe("/dashboard");
  });
  it("makes the sign-in link", () => {
    expect(signInPathFor("/dashboard/api-keys")).toBe("/sign-in?next=%2Fdashboard%2Fapi-keys");
    expect(signInPathFor("//evil.example")).toBe("/sign-in");
    expect(signInPathFor("/")).toBe("/sign-in");
  });
});
