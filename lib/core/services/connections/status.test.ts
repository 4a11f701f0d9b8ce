import fs from "node:fs";
import path from "node:path";
import { describe, expect, it } from "vitest";

const ROOT = path.resolve(__dirname, "../../../..");

/** The source files (not tests) under these folders whose text matches. */
function sourcesContaining(text: RegExp, dirs: string[]) {
  return dirs.flatMap((dir) =>
    (fs.readdirSync(path.join(ROOT, dir), { recursive: true }) as string[])
      .map((f) => path.join(dir, f))
      .filter((f) => /\.tsx?$/.test(f) && !/\.test\.tsx?$/.test(f))
      .filter((f) => text.test(fs.readFileSync(path.join(ROOT, f), "utf8"))),
  );
}

describe("a connection's status changes in one place", () => {
  it("no module but status.ts calls changeStatus (other updates cannot name a status: ConnectionChanges has none)", () => {
    expect(sourcesContaining(/\bchangeStatus\(/, ["lib", "app", "components", "supabase/functions"]).sort()).toEqual([
      "lib/core/services/connections/status.ts",
      "lib/db/queries/connections.ts",
    ]);
  });

  it("no SQL outside the migrations sets a connection's status", () => {
    // An update of mcp_connections whose SET list (up to its WHERE) names status; other tables' statuses are theirs.
    const setsStatus = /update\s+mcp_connections\s+(?:\w+\s+)?set\s(?:(?!\bwhere\b)[^;`])*\bstatus\s*=/i;
    expect(sourcesContaining(setsStatus, ["lib", "app", "supabase/functions"])).toEqual([]);
  });
});
