import { describe, expect, it } from "vitest";
import { asOrigin, judgeOrigin, originsOf, preflightHeaders } from "./origins";

describe("origins", () => {
  it("takes bare http(s) origins only", () => {
    expect(asOrigin("https://app.example.com")).toBe("https://app.example.com");
    expect(asOrigin("https://app.example.com/")).toBe("https://app.example.com");
    expect(asOrigin("http://localhost:6274")).toBe("http://localhost:6274");
    for (const bad of [
      "*",
      "app.example.com",
      "https://a.example.com/x",
      "https://u:p@a.example.com",
      "file:///x",
      "null",
    ])
      expect(asOrigin(bad), bad).toBeUndefined();
  });

  it("names a loopback Berth by all three of its names, a public one by its own only", () => {
    expect([...originsOf("http://localhost:3000").own]).toEqual([
      "http://localhost:3000",
      "http://127.0.0.1:3000",
      "http://[::1]:3000",
    ]);
    expect([...originsOf("https://berth.example.com").own]).toEqual(["https://berth.example.com"]);
  });

  it("judges by exact origin: scheme, host and port", () => {
    const allowed = originsOf("https://berth.example.com", ["http://localhost:6274"]);
    expect(judgeOrigin(allowed, undefined)).toBe("none");
    expect(judgeOrigin(allowed, null)).toBe("none");
    expect(judgeOrigin(allowed, "https://berth.example.com")).toBe("own");
    expect(judgeOrigin(allowed, "http://localhost:6274")).toBe("allowed");
    for (const other of [
      "http://berth.example.com",
      "https://berth.example.com:8443",
      "https://evil.berth.example.com",
      "https://berth.example.com.evil.com",
      "http://localhost:6275",
      "null",
      "",
    ])
      expect(judgeOrigin(allowed, other), other).toBe("refused");
  });

  it("answers a browser's preflight with MCP's headers, and a plain OPTIONS with Allow only", () => {
    const h = preflightHeaders("http://localhost:6274", "GET, POST, DELETE");
    expect(h["access-control-allow-origin"]).toBe("http://localhost:6274");
    expect(h["access-control-allow-methods"]).toBe("GET, POST, DELETE");
    for (const name of [
      "Authorization",
      "Content-Type",
      "Mcp-Session-Id",
      "MCP-Protocol-Version",
      "Last-Event-ID",
      "Idempotency-Key",
    ])
      expect(h["access-control-allow-headers"]).toContain(name);
    expect(h["access-control-expose-headers"]).toContain("Mcp-Session-Id");
    expect(preflightHeaders(undefined, "GET")).toEqual({ allow: "GET" });
  });
});
