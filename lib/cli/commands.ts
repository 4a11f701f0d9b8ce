import fs from "node:fs";
import { z } from "zod";
import { BerthError, fieldErrors } from "@/lib/core/errors";
import { ServerDefinitionInput, toServerDefinitionJson } from "@/lib/core/schemas/server-definition";
import { createAccount } from "@/lib/core/services/accounts/create-account";
import { createApiKey, listApiKeys, revokeApiKey } from "@/lib/core/services/api-keys";
import { addDefinition, listDefinitions, removeDefinition } from "@/lib/core/services/definitions/definitions";
import { rotateCredentials } from "@/lib/core/services/keys/rotate";
import type { CredentialsCipher } from "@/lib/crypto/credentials-cipher";
import type { Db } from "@/lib/db/db";
import {
  ensureUserId,
  getAccount,
  getUserByEmail,
  isUnclaimedInvitee,
  listOperators,
  setMembership,
  setOperator,
} from "@/lib/db/queries/accounts";
import { getApiKey } from "@/lib/db/queries/api-keys";

export type CliInvocation = { command: string; options: Record<string, string | boolean | undefined> };
export type CliDeps = {
  db: Db;
  /** Encrypts under the first key of BERTH_ENCRYPTION_KEYS (or the data dir's key file). */
  cipher: CredentialsCipher;
  hashPassword(password: string): Promise<string>;
  /** A running Berth's (the CLI over its socket): a revoked key stops working there at once. */
  onApiKeyRevoked?(keyId: string): void;
};

export const USAGE = `Usage:
  berth accounts create --name <name> [--owner-email <email> [--owner-password <password>]] [--json]
  berth api-keys create --account <account_id> [--name <name>] [--scope admin|mcp] [--json]
  berth api-keys list --account <account_id> [--json]
  berth api-keys revoke --id <api_key_id> [--json]
  berth keys rotate [--json]
  berth members add --account <account_id> (--user-id <uuid> | --email <email>) [--role owner|admin|member] [--json]
  berth operators grant (--user-id <uuid> | --email <email>) [--json]
  berth operators revoke (--user-id <uuid> | --email <email>) [--json]
  berth operators list [--json]
  berth servers add --file <definition.json> [--json]
  berth servers remove --slug <slug> [--json]
  berth servers list [--json]`;

const AccountsCreate = z.object({
  name: z.string().trim().min(1, "--name is required").max(200),
  "owner-email": z.email("--owner-email must be an email address").optional(),
  "owner-password": z.string().min(8, "--owner-password needs at least 8 characters").optional(),
});

const AccountOption = z.uuid("--account must be an account id (a UUID)");
const ApiKeysCreate = z.object({
  account: AccountOption,
  name: z.string().trim().min(1, "--name must not be empty").max(100).default("default"),
  scope: z.enum(["admin", "mcp"], "--scope must be admin or mcp").default("admin"),
});

/** The operator at the command line acts in an account as Berth itself (an admin's rights). */
async function operator(deps: CliDeps, accountId: string) {
  if (!(await getAccount(deps.db, { accountId }))) throw new BerthError("not_found", `No such account: ${accountId}.`);
  return { db: deps.db, accountId, actor: { kind: "system" } as const, onApiKeyRevoked: deps.onApiKeyRevoked };
}

/** Berth itself, at the host: the CLI keeps the shared catalogue. */
const SYSTEM = { kind: "system" } as const;

const UserOption = {
  "user-id": z.uuid("--user-id must be a UUID").optional(),
  email: z.email("--email must be an email address").optional(),
};
const oneUserOption = (o: { "user-id"?: string; email?: string }) =>
  (o["user-id"] === undefined) !== (o.email === undefined);
const ONE_USER = "Give exactly one of --user-id or --email.";

const MembersAdd = z
  .object({
    account: z.uuid("--account must be an account id (a UUID)"),
    ...UserOption,
    role: z.enum(["owner", "admin", "member"], "--role must be owner, admin or member").default("member"),
  })
  .refine(oneUserOption, ONE_USER);
const OperatorsChange = z.object(UserOption).refine(oneUserOption, ONE_USER);

/** The CLI's commands over the same services as the API. Returns the JSON document to print. */
export async function runCommand(deps: CliDeps, { command, options }: CliInvocation): Promise<unknown> {
  switch (command) {
    case "accounts create": {
      const o = parse(AccountsCreate, options);
      const email = o["owner-email"];
      // An existing user keeps their password: none is generated (it would not work) for them.
      const isNew = email !== undefined && !(await getUserByEmail(deps.db, { email }));
      const generated = isNew && !o["owner-password"] ? randomPassword() : undefined;
      const password = o["owner-password"] ?? generated;
      const { account, apiKey } = await createAccount(deps, {
        name: o.name,
        ownerEmail: email,
        ownerPasswordHash: password ? await deps.hashPassword(password) : undefined,
      });
      return { account_id: account.id, api_key: apiKey, ...(generated ? { owner_password: generated } : {}) };
    }
    case "api-keys create": {
      const o = parse(ApiKeysCreate, options);
      const created = await createApiKey(await operator(deps, o.account), { name: o.name, scope: o.scope });
      return { api_key: created.key, id: created.id, name: created.name, prefix: created.prefix, scope: created.scope };
    }
    case "api-keys list": {
      const o = parse(z.object({ account: AccountOption }), options);
      return (await listApiKeys(await operator(deps, o.account))).data;
    }
    case "api-keys revoke": {
      const o = parse(z.object({ id: z.uuid("--id must be an API key id (a UUID)") }), options);
      const key = await getApiKey(deps.db, { id: o.id });
      if (!key) throw new BerthError("not_found", `No such API key: ${o.id}.`);
      return revokeApiKey(await operator(deps, key.account_id), o.id);
    }
    case "members add":
      return addMember(deps, parse(MembersAdd, options));
    case "keys rotate":
      return rotateCredentials(deps);
    case "servers add": {
      const o = parse(z.object({ file: z.string().min(1, "--file is required") }), options);
      let raw: unknown;
      try {
        raw = JSON.parse(fs.readFileSync(o.file, "utf8"));
      } catch (err) {
        throw new BerthError("bad_request", `Cannot read ${o.file} as JSON: ${(err as Error).message}`);
      }
      const row = await addDefinition({ db: deps.db, actor: SYSTEM }, parse(ServerDefinitionInput, raw));
      return { id: row.id, slug: row.slug };
    }
    case "servers remove": {
      const o = parse(z.object({ slug: z.string().min(1, "--slug is required") }), options);
      return removeDefinition({ db: deps.db, actor: SYSTEM }, o.slug);
    }
    case "operators grant":
    case "operators revoke": {
      const o = parse(OperatorsChange, options);
      const userId = o["user-id"] ?? (await userIdByEmail(deps.db, o.email as string));
      if (command === "operators grant" && (await isUnclaimedInvitee(deps.db, { userId })))
        throw new BerthError(
          "conflict",
          "This user has not accepted their invitation yet (no password): whoever accepts it would hold the operator's role. Grant it once they have signed in.",
        );
      const user = await setOperator(deps.db, { userId, operator: command === "operators grant" });
      if (!user) throw new BerthError("not_found", `No such user: ${userId}.`);
      return { user_id: user.id, email: user.email, operator: user.operator };
    }
    case "operators list":
      return (await listOperators(deps.db)).map((u) => ({ user_id: u.id, email: u.email }));
    case "servers list":
      return (await listDefinitions(deps)).data.map((row) => toServerDefinitionJson(row));
    default:
      throw new BerthError("bad_request", `Unknown command "${command}".\n${USAGE}`);
  }
}

/**
 * Makes a user a member of an account, or changes the role of one who is. By --user-id (a Supabase
 * user's id, `sub`): the user row is created when missing, without an email. By --email: only a
 * user Berth already has.
 */
async function addMember(deps: CliDeps, o: z.output<typeof MembersAdd>) {
  return deps.db.transaction(async (tx) => {
    if (!(await getAccount(tx, { accountId: o.account })))
      throw new BerthError("not_found", `No such account: ${o.account}.`);
    let userId = o["user-id"];
    if (userId !== undefined) await ensureUserId(tx, { userId });
    else userId = await userIdByEmail(tx, o.email as string);
    const m = await setMembership(tx, { accountId: o.account, userId, role: o.role });
    return { account_id: m.account_id, user_id: m.user_id, role: m.role };
  });
}

/** The one place a user is found by email: an explicit operator command. */
async function userIdByEmail(db: Db, email: string) {
  const user = await getUserByEmail(db, { email });
  if (!user)
    throw new BerthError(
      "not_found",
      `No user has the email ${email}. Add a Supabase user by --user-id, or create the user first.`,
    );
  return user.id;
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
