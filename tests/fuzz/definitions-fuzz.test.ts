import fs from "node:fs";
import path from "node:path";
import fc from "fast-check";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { z } from "zod";
import { seedCatalogue } from "@/lib/catalogue/seed";
import { runCommand } from "@/lib/cli/commands";
import { BerthError } from "@/lib/core/errors";
import { ServerDefinitionInput } from "@/lib/core/schemas/server-definition";
import { getDefinition } from "@/lib/core/services/definitions/definitions";
import { createCredentialsCipher } from "@/lib/crypto/credentials-cipher";
import { openTestDb, type TestDb } from "../support/databases";
import { tempDir } from "../support/temp-dirs";
import { body, valid } from "./arbitraries";

/**
 * `npx berth servers add --file` fuzzed with definitions from its own schema (odd-but-valid, one
 * field wrong, any JSON, not JSON): each is stored as given or refused with a 4xx error naming the
 * problem; nothing else is thrown, and what is stored reads back. PGlite and PostgreSQL.
 * BERTH_FUZZ_RUNS sets the cases (1,000 by default).
 */
const RUNS = Number(process.env.BERTH_FUZZ_RUNS ?? 1000);

const known = ["memory", "everything", "npx -y @modelcontextprotocol/server-memory"];

/**
 * A plain valid definition with one or two of its fields drawn from the schema: most random
 * definitions fail one of the cross-field rules (a port only for HTTP, the check among the
 * tools), so these reach the store.
 */
const nearlyValid = (schema: object) =>
  fc
    .tuple(fc.stringMatching(/^[a-z0-9][a-z0-9-]{0,30}$/), valid(schema, known), fc.nat(), fc.nat())
    .map(([slug, drawn, a, b]) => {
      const definition: Record<string, unknown> = { slug, title: "Fuzzed", start_command: "npx -y fuzzed-mcp@1.0.0" };
      const fields = typeof drawn === "object" && drawn !== null ? Object.entries(drawn) : [];
      for (const n of [a, b]) {
        const [key, value] = fields[n % Math.max(fields.length, 1)] ?? [];
        if (key) definition[key] = value;
      }
      return JSON.stringify(definition);
    });

describe.each(["pglite", "postgres"] as const)("fuzzing servers add on %s", (kind) => {
  let t: TestDb;
  let dir: string;

  beforeAll(async () => {
    t = await openTestDb(kind);
    await seedCatalogue(t.db);
    dir = tempDir("berth-fuzz-defs-");
  });
  afterAll(async () => {
    await t?.drop();
    if (dir) fs.rmSync(dir, { recursive: true, force: true });
  });

  it(`${RUNS} definitions: stored as given, or a 4xx naming the problem`, async () => {
    const cipher = await createCredentialsCipher([{ id: "k1", raw: crypto.getRandomValues(new Uint8Array(32)) }]);
    const schema = z.toJSONSchema(ServerDefinitionInput, { io: "input", unrepresentable: "any" }) as object;
    const file = path.join(dir, "def.json");
    const outcomes = { stored: 0, refused: 0 };
    await fc.assert(
      fc.asyncProperty(fc.oneof(body(schema, known), nearlyValid(schema)), async (text) => {
        fs.writeFileSync(file, text);
        let stored: { slug: string } | undefined;
        try {
          stored = (await runCommand(
            { db: t.db, cipher, hashPassword: async () => "x" },
            { command: "servers add", options: { file } },
          )) as { slug: string };
        } catch (err) {
          const what = `${(err as Error).stack ?? err} ← ${text.slice(0, 400)}`;
          expect(err, what).toBeInstanceOf(BerthError);
          expect((err as BerthError).status, what).toBeGreaterThanOrEqual(400);
          expect((err as BerthError).status, what).toBeLessThan(500);
          expect((err as BerthError).message, what).not.toMatch(/\n\s+at |node_modules/);
          outcomes.refused++;
          return;
        }
        const input = ServerDefinitionInput.parse(JSON.parse(text));
        const row = await getDefinition({ db: t.db }, stored.slug);
        expect(row.slug).toBe(input.slug);
        expect(row.start_command).toBe(input.start_command);
        outcomes.stored++;
      }),
      { numRuns: RUNS, endOnFailure: false },
    );
    console.log(`servers add on ${kind}: ${RUNS} definitions, ${JSON.stringify(outcomes)}`);
  }, 600_000);
});
