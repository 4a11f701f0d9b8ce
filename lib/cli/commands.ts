import fs from "node:fs";
import { z } from "zod";
import { BerthError, fieldErrors } from "@/lib/core/errors";
import { Id } from "@/lib/core/schemas/common";
import { ServerDefinitionInput, toServerDefinitionJson } from "@/lib/core/schemas/server-definition";
import { createAccount } from "@/lib/core/services/accounts/create-account";
import { createApiKey } from "@/lib/core/services/accounts/create-api-key";
import { addDefinition, listDefinitions } from "@/lib/core/services/definitions/definitions";
import type { Db } from "@/lib/db/db";
import { ensureUserId, getAccount, getUserByEmail, setMembership } from "@/lib/db/queries/accounts";

export type CliInvocation = { command: string; options: Record<string, string | boolean | undefined> };
export type CliDeps = { db: Db; hashPassword(password: string): Promise<string> };

export const USAGE = `Usage:
  berth accounts create --name <name> [--owner-email <email> [--owner-password <password>]] [--json]
  berth api-keys create --account <account_id> [--json]
  berth members add --account <account_id> (--user-id <uuid> | --email <email>) [--role owner|admin|member] [--json]
  berth servers add --file <definition.json> [--json]
  berth servers list [--json]`;

const AccountsCreate = z.object({
  name: z.string().trim().min(1, "--name is required").max(200),
  "owner-email": z.email("--owner-email must be an email address").optional(),
  "owner-password": z.string().min(8, "--owner-password needs at least 8 characters").optional(),
});

const MembersAdd = z
  .object({
    account: z.uuid("--account must be an account id (a UUID)"),
    "user-id": z.uuid("--user-id must be a UUID").optional(),
    email: z.email("--email must be an email address").optional(),
    role: z.enum(["owner", "admin", "member"], "--role must be owner, admin or member").default("member"),
  })
  .refine((o) => (o["user-id"] === undefined) !== (o.email === undefined), "Give exactly one of --user-id or --email.");

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
    case "members add":
      return addMember(deps, parse(MembersAdd, options));
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

/**
 * Makes a user a member of an account, or changes the role of one who is. By --user-id (a Supabase
 * user's id, `sub`): the user row is created when missing, without an email. By --email: only a
 * user Berth already has; this explicit operator command is the one place a user is found by email.
 */
async function addMember(deps: CliDeps, o: z.output<typeof MembersAdd>) {
  return deps.db.transaction(async (tx) => {
    if (!(await getAccount(tx, { accountId: o.account })))
      throw new BerthError("not_found", `No such account: ${o.account}.`);
    let userId = o["user-id"];
    if (userId !== undefined) await ensureUserId(tx, { userId });
    else if (o.email !== undefined) {
      const user = await getUserByEmail(tx, { email: o.email });
      if (!user)
        throw new BerthError(
          "not_found",
          `No user has the email ${o.email}. Add a Supabase user by --user-id, or create the user first.`,
        );
      userId = user.id;
    } else throw new BerthError("bad_request", "Give exactly one of --user-id or --email.");
    const m = await setMembership(tx, { accountId: o.account, userId, role: o.role });
    return { account_id: m.account_id, user_id: m.user_id, role: m.role };
  });
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
