import { execFileSync } from "node:child_process";
import fs from "node:fs";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { api, type BerthServer, mcpInitialize, startBerth } from "../support/berth-server";
import { createPostgresDatabase } from "../support/databases";
import { tempDir } from "../support/temp-dirs";
import { until } from "../support/until";

/**
 * Credentials are write-only: after a run through every path that handles them (install, a failed
 * credential check, a failed start, a crash that prints them, replacing them, restart, extend,
 * delete, the MCP endpoint, the inspector) and an API key's creation, no answer Berth gave, none of
 * its logs (at debug level), nothing in its data dir and nothing in its database holds a secret,
 * plainly or as base64, hex, JSON or URL escapes. PGlite (in the data dir) and PostgreSQL (pg_dump).
 *
 * The server here prints its TOKEN to stderr at start and when it crashes, and quotes it in its
 * check's failure: everything Berth shows of a server's output must be scrubbed. What a server
 * answers a tool call is relayed as it is (the agent's data, Berth's to carry, not to edit), so no
 * call here asks the server for its token.
 */

const NL = "String.fromCharCode(10)";
const LEAKY_SERVER = [
  "const T=process.env.TOKEN;",
  "console.error('leaky starting with token '+T);",
  `const send=m=>process.stdout.write(JSON.stringify({jsonrpc:'2.0',...m})+${NL});`,
  "const tools=[{name:'whoami',inputSchema:{type:'object'}},{name:'crash',inputSchema:{type:'object'}}];",
  "require('readline').createInterface({input:process.stdin}).on('line',l=>{",
  "const m=JSON.parse(l),id=m.id,p=m.params||{};if(id===undefined)return;",
  "if(m.method==='initialize')return send({id,result:{protocolVersion:p.protocolVersion,capabilities:{tools:{}},serverInfo:{name:'leaky',version:'1'}}});",
  "if(m.method==='tools/list')return send({id,result:{tools}});",
  "if(p.name==='whoami')return send({id,result:{content:[{type:'text',text:'token '+T+' was rejected'}],isError:T!=='fine'}});",
  "if(p.name==='crash'){console.error('dying with token '+T);process.exit(3)}",
  "send({id,error:{code:-32601,message:'no such method'}})})",
].join("");

const credentialSchema = {
  type: "object",
  properties: { TOKEN: { type: "string", writeOnly: true } },
  required: ["TOKEN"],
};
const LEAKY = {
  slug: "leaky",
  title: "Leaky",
  start_command: `node -e "${LEAKY_SERVER}"`,
  credential_schema: credentialSchema,
  check: { tool: "whoami" },
};
/** Prints its TOKEN and exits before answering initialize: a failed start. */
const LEAKY_START = {
  slug: "leaky-start",
  title: "Leaky start",
  start_command: `node -e "console.error('cannot start with token '+process.env.TOKEN);process.exit(2)"`,
  credential_schema: credentialSchema,
};

/** A secret with characters every escaping changes (quote, backslash, slash, non-ASCII). */
const secret = (name: string) => `${name}"q\\s/é-${crypto.randomUUID().replaceAll("-", "")}`;

/** `secret` as it could appear: plainly, or base64 (at any alignment), base64url, hex, JSON or URL escaped. */
function formsOf(secret: string): string[] {
  const bytes = Buffer.from(secret, "utf8");
  const forms = [secret, JSON.stringify(secret).slice(1, -1), encodeURIComponent(secret), bytes.toString("hex")];
  forms.push(bytes.toString("hex").toUpperCase());
  for (let shift = 0; shift < 3; shift++) {
    const shifted = Buffer.concat([Buffer.alloc(shift), bytes]);
    // The characters that depend on the neighbouring bytes are left out.
    forms.push(shifted.toString("base64").slice(4, -4), shifted.toString("base64url").slice(4, -4));
  }
  return forms;
}

/** Every file under `dir`, its bytes as latin1 text (so any byte sequence can be searched). */
function filesUnder(dir: string): [string, string][] {
  const out: [string, string][] = [];
  for (const entry of fs.readdirSync(dir, { withFileTypes: true, recursive: true })) {
    if (!entry.isFile()) continue;
    const file = path.join(entry.parentPath, entry.name);
    out.push([file, fs.readFileSync(file).toString("latin1")]);
  }
  return out;
}

/** Where any form of any secret occurs in `haystacks` ([name, text] pairs). */
function hits(secrets: Record<string, string>, haystacks: [string, string][]) {
  const found: string[] = [];
  for (const [name, value] of Object.entries(secrets)) {
    // Searched both as text and as the latin1 view of its UTF-8 bytes (how files are read).
    const forms = formsOf(value).flatMap((f) => [f, Buffer.from(f, "utf8").toString("latin1")]);
    for (const [where, text] of haystacks) {
      for (const form of new Set(forms)) if (text.includes(form)) found.push(`${name} in ${where} (as ${form})`);
    }
  }
  return found;
}

describe.each(["pglite", "postgres"] as const)("no secret anywhere after every credential path, on %s", (kind) => {
  let berth: BerthServer;
  let dropDb: (() => Promise<void>) | undefined;
  let databaseUrl: string | undefined;
  let dataDir: string;
  let account: { account_id: string; api_key: string };
  const answers: [string, string][] = [];
  const secrets = { first: secret("first"), second: secret("second"), failing: secret("failing") };
  /** PostgreSQL's key comes from the environment (PGlite's is generated into the data dir, where it belongs). */
  const encryptionKey = Buffer.from(crypto.getRandomValues(new Uint8Array(32))).toString("base64");

  /** Calls the REST API and keeps the answer for the sweep. */
  const call = async (method: string, p: string, body?: unknown) => {
    const res = await fetch(`${berth.url}${p}`, {
      method,
      headers: { authorization: `Bearer ${account.api_key}`, "content-type": "application/json" },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    const text = await res.text();
    answers.push([`${method} ${p} → ${res.status}`, text]);
    return { status: res.status, body: text ? JSON.parse(text) : undefined, text };
  };

  beforeAll(async () => {
    dataDir = tempDir("berth-secrets-");
    const env: Record<string, string> = { BERTH_DATA_DIR: dataDir, LOG_LEVEL: "debug" };
    if (kind === "postgres") {
      env.BERTH_ENCRYPTION_KEYS = `k1:${encryptionKey}`;
      const db = await createPostgresDatabase();
      dropDb = db.drop;
      databaseUrl = db.url;
      env.DATABASE_URL = db.url;
    }
    berth = await startBerth(env);
    account = (await berth.cli(["accounts", "create", "--name", "Secrets"])) as typeof account;
    for (const def of [LEAKY, LEAKY_START]) {
      const file = path.join(dataDir, `${def.slug}.json`);
      fs.writeFileSync(file, JSON.stringify(def));
      await berth.cli(["servers", "add", "--file", file]);
      fs.rmSync(file);
    }
  });
  afterAll(async () => {
    await berth?.stop();
    await dropDb?.();
    if (dataDir) fs.rmSync(dataDir, { recursive: true, force: true });
  });

  it("leaves no form of any secret in answers, logs, the data dir or the database", async () => {
    const base = { account_id: account.account_id };
    // A credential check that fails quoting the token, and a start that fails printing it.
    const dry = await call("POST", "/api/mcp-connections/install", {
      ...base,
      server_id: "leaky",
      credentials: { TOKEN: secrets.failing },
      dry_run: true,
    });
    expect(dry.status, dry.text).toBe(422);
    expect(dry.text).toContain("was rejected"); // the failure is shown, the token in it is not
    const failed = await call("POST", "/api/mcp-connections/install", {
      ...base,
      server_id: "leaky-start",
      credentials: { TOKEN: secrets.failing },
    });
    expect(failed.body.data?.status, failed.text).toBe("failed");
    expect(failed.body.data.last_error).toContain("cannot start with token");

    // A connection that runs, prints its token, crashes printing it, comes back, and gets another.
    const installed = await call("POST", "/api/mcp-connections/install", {
      ...base,
      server_id: "leaky",
      credentials: { TOKEN: secrets.first },
      keep_alive: true,
    });
    expect(installed.body.data?.status, installed.text).toBe("running");
    const id = installed.body.data.id as string;
    const first = installed.body.data.sandbox_id as string;
    for (const p of ["", "/events", "/client-config", "/tools"]) await call("GET", `/api/mcp-connections/${id}${p}`);
    await call("GET", "/api/mcp-connections");
    await call("POST", `/api/mcp-connections/${id}/tools/call`, { name: "crash" });
    await until(
      "the crashed connection to run again",
      async () => {
        const c = await call("GET", `/api/mcp-connections/${id}`);
        return c.body.data.status === "running" && c.body.data.sandbox_id !== first ? c : undefined;
      },
      60_000,
    );
    const events = await call("GET", `/api/mcp-connections/${id}/events`);
    expect(events.text).toContain("dying with token"); // the crash's stderr is shown, scrubbed
    const replaced = await call("PUT", `/api/mcp-connections/${id}/credentials`, {
      credentials: { TOKEN: secrets.second },
    });
    expect(replaced.status, replaced.text).toBe(200);
    await call("POST", `/api/mcp-connections/${id}/restart`);
    await call("POST", `/api/mcp-connections/${id}/extend`, { seconds: 600 });

    // Through the MCP endpoint, as an agent.
    const mcp = await mcpInitialize(api(berth.url, account.api_key), id);
    expect(mcp.status, mcp.text).toBe(200);
    answers.push(["MCP initialize", mcp.text]);

    // An API key is shown once, when created; never again.
    const created = await call("POST", "/api/api-keys", { name: "sweep" });
    const apiKey = created.body.data.key as string;
    answers.pop();
    await call("GET", "/api/api-keys");
    await call("GET", `/api/mcp-connections/${id}/events`);
    await call("DELETE", `/api/mcp-connections/${id}`);

    const all = { ...secrets, apiKey, ...(kind === "postgres" ? { encryptionKey } : {}) };
    const logs: [string, string][] = [["Berth's output", berth.output()]];
    await berth.stop();
    const stored: [string, string][] = filesUnder(dataDir);
    if (databaseUrl) {
      const dump = execFileSync("pg_dump", ["--data-only", "--no-owner", databaseUrl], { maxBuffer: 256 << 20 });
      stored.push(["pg_dump", dump.toString("latin1")]);
    }
    // The search finds each form it claims to (a control), and had much to search.
    for (const control of [secrets.first, `ab${secrets.first}`, `a${secrets.first}`]) {
      const bytes = Buffer.from(control, "utf8");
      for (const encoded of [bytes.toString("base64"), bytes.toString("hex"), JSON.stringify(control)])
        expect(hits({ control: secrets.first }, [["control", encoded]]), encoded).not.toEqual([]);
    }
    expect(answers.length).toBeGreaterThan(15);
    expect(stored.length).toBeGreaterThan(0);
    expect(hits(all, [...answers, ...logs, ...stored])).toEqual([]);
  }, 240_000);
});
