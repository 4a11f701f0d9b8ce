import { describe, expect, it } from "vitest";
import { isBerthError } from "@/lib/core/errors";
import type { ServerRow } from "@/lib/db/queries/servers";
import { validateCredentials } from "./credentials";

const server = {
  credential_schema: {
    type: "object",
    properties: { TOKEN: { type: "string", minLength: 1 }, REGION: { type: "string", enum: ["eu", "us"] } },
    required: ["TOKEN"],
  },
} as unknown as ServerRow;

const details = (credentials: Record<string, unknown>) => {
  try {
    validateCredentials(server, credentials);
  } catch (err) {
    if (isBerthError(err)) return err.details as { path: string; message: string }[];
    throw err;
  }
  throw new Error("expected the credentials to be refused");
};

describe("validateCredentials", () => {
  it("turns valid credentials into environment values", () => {
    expect(validateCredentials(server, { TOKEN: "t-1", REGION: "eu" })).toEqual({ TOKEN: "t-1", REGION: "eu" });
  });

  it("names each bad field, says a missing one is required, and never echoes a value", () => {
    expect(details({})).toEqual([{ path: "credentials.TOKEN", message: "Required." }]);
    const bad = details({ TOKEN: "t-1", REGION: "secret-looking-value", EXTRA: "x" });
    expect(bad?.map((d) => d.path).sort()).toEqual(["credentials.EXTRA", "credentials.REGION"]);
    expect(JSON.stringify(bad)).not.toContain("secret-looking-value");
  });
});
