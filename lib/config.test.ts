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
  ])("stops with a message naming the bad variable: %j", (env, name) => {
    expect(() => loadConfig(env)).toThrow(ConfigError);
    expect(() => loadConfig(env)).toThrow(name);
  });
  it("treats empty values as unset", () => {
    expect(loadConfig({ PORT: "", DATABASE_URL: "" }).port).toBe(3000);
  });
});
