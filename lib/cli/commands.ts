import fs from "node:fs";
import { z } from "zod";
import { BerthError, fieldErrors } from "@/lib/core/errors";
import { Id } from "@/lib/core/schemas/common";
import { ServerDefinitionInput, toServerDefinitionJson } from "@/lib/core/schemas/server-definition";
import { createAccount } from "@/lib/core/services/accounts/create-account";
import { createApiKey } from "@/lib/core/services/accounts/create-api-key";
import { addDefinition, listDefinitions } from "@/lib/core/services/definitions/definitions";
import type { Db } from "@/lib/db/db";

export type CliInvocation = { command: string; options: Record<string, string | boolean | undefined> };
export type CliDeps = { db: Db; hashPassword(password: string): Promise<string> };

export const USAGE = `Usage:
  berth accounts create --name <name> [--owner-email <email> [--owner-password <password>]] [--json]
  berth api-keys create --account <account_id> [--json]
  berth servers add --file <definition.json> [--json]
  berth servers list [--json]`;

const AccountsCreate = z.object({
  name: z.string().trim().min(1, "--name is required").max(200),
  "owner-email": z.email("--owner-email must be an email address").optional(),
  "owner-password": z.string().min(8, "--owner-password needs at least 8 characters").optional(),
});

/** The CLI's commands over the same services as the API. Returns the JSON document to print. */
export async function runCommand(deps: CliDeps, { command, options }: CliInvocation): Promise<unknown> {
  switch (command) {
    case "accounts create": {
      const o = parse(AccountsCreate, options);
      const email = o["owner-email"];
      const generated = email && !o["owner-password"] ? randomPassword() : undefined;
      const password = o["owner-password"] ?? generated;
      const { account, apiKey } = await createAccount(deps, {
        name: o.name,
        ownerEmail: email,
        ownerPasswordHash: password ? await deps.hashPassword(password) : undefined,
      });
      return { account_id: account.id, api_key: apiKey, ...(generated ? { owner_password: generated } : {}) };
    }
    case "api-keys create": {
      const o = parse(z.object({ account: Id }), options);
      return { api_key: await createApiKey(deps, { accountId: o.account }) };
    }
    case "servers add": {
      const o = parse(z.object({ file: z.string().min(1, "--file is required") }), options);
      let raw: unknown;
      try {
        raw = JSON.parse(fs.readFileSync(o.file, "utf8"));
      } catch (err) {
        throw new BerthError("bad_request", `Cannot read ${o.file} as JSON: ${(err as Error).message}`);
      }
      const row = await addDefinition(deps, parse(ServerDefinitionInput, raw));
      return { id: row.id, slug: row.slug };
    }
    case "servers list":
      return (await listDefinitions(deps)).map(toServerDefinitionJson);
    default:
      throw new BerthError("bad_request", `Unknown command "${command}".\n${USAGE}`);
  }
}

function parse<S extends z.ZodType>(schema: S, raw: unknown): z.output<S> {
  const r = schema.safeParse(raw);
  if (!r.success) {
    const details = fieldErrors(r.error.issues);
    throw new BerthError(
      "bad_request",
      details.map((d) => (d.path ? `${d.path}: ${d.message}` : d.message)).join("\n"),
      details,
    );
  }
  return r.data;
}

function randomPassword() {
  return Buffer.from(crypto.getRandomValues(new Uint8Array(15))).toString("base64url");
}
