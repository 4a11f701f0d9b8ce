import { describe, expect, it } from "vitest";
import { ConfigError, loadConfig } from "./config";

describe("loadConfig", () => {
  it("has the contract's defaults", () => {
    const c = loadConfig({});
    expect(c.port).toBe(3000);
    expect(c.dataDir).toMatch(/\.berth$/);
    expect(c.sandboxProvider).toBe("local");
    expect(c.databaseUrl).toBeUndefined();
    expect(c.publicUrl).toBe("http://localhost:3000");
  });
  it.each([
    [{ PORT: "abc" }, "PORT"],
    [{ SANDBOX_PROVIDER: "docker" }, "SANDBOX_PROVIDER"],
    [{ DATABASE_URL: "mysql://x" }, "DATABASE_URL"],
    [{ BERTH_ENCRYPTION_KEYS: "nokey" }, "BERTH_ENCRYPTION_KEYS"],
    [{ NEXT_PUBLIC_SUPABASE_URL: "https://x.supabase.co" }, "NEXT_PUBLIC_SUPABASE_PUBLISHABLE_KEY"],
    [{ BERTH_ALLOWED_ORIGINS: "https://app.example.com/path" }, "BERTH_ALLOWED_ORIGINS"],
    [{ BERTH_ALLOWED_ORIGINS: "*" }, "BERTH_ALLOWED_ORIGINS"],
  ])("stops with a message naming the bad variable: %j", (env, name) => {
    expect(() => loadConfig(env)).toThrow(ConfigError);
    expect(() => loadConfig(env)).toThrow(name);
  });
  it("allows the public URL's origin, and BERTH_ALLOWED_ORIGINS besides", () => {
    expect([...loadConfig({ BERTH_PUBLIC_URL: "https://berth.example.com/" }).origins.allowed]).toEqual([
      "https://berth.example.com",
    ]);
    const c = loadConfig({ BERTH_ALLOWED_ORIGINS: " https://a.example.com, http://localhost:6274/ " });
    expect([...c.origins.own]).toEqual(["http://localhost:3000", "http://127.0.0.1:3000", "http://[::1]:3000"]);
    expect([...c.origins.allowed]).toEqual([
      "http://localhost:3000",
      "http://127.0.0.1:3000",
      "http://[::1]:3000",
      "https://a.example.com",
      "http://localhost:6274",
    ]);
  });
  it("treats empty values as unset", () => {
    expect(loadConfig({ PORT: "", DATABASE_URL: "" }).port).toBe(3000);
  });
});
