import { describe, expect, it } from "vitest";
import { type DeployError, isDeployError } from "@/lib/core/runtime";
import type { CrashReport } from "@/lib/sandbox/runtime";
import { useSandboxes, withTimeout } from "./helpers";

/** A quote, a backslash, a space and a plus, so every encoding differs from the raw value. */
const SECRET = 'ghp_16CharactersOfSecret42 "q"\\+x';

/**
 * What the hostile server prints: every common encoding of its token, one per line, base64 also
 * embedded in longer base64 at each byte alignment. Single quotes only: it goes inside the
 * double quotes of a start command.
 */
const LEAK = [
  "const s=process.env.API_TOKEN,b=Buffer.from(s),nl=String.fromCharCode(10);",
  "const u=encodeURIComponent(s);",
  "const inside=(n,f)=>Buffer.concat([Buffer.alloc(n,250),b,Buffer.from('user:tail')]).toString(f);",
  "const out=[s,s.toUpperCase(),s.toLowerCase(),JSON.stringify(s).slice(1,-1),",
  "b.toString('base64'),b.toString('base64url'),b.toString('hex'),b.toString('hex').toUpperCase(),",
  "u,u.split('%20').join('+'),[...s].reverse().join(''),",
  "inside(3,'base64'),inside(4,'base64'),inside(5,'base64'),inside(3,'base64url'),inside(4,'base64url'),inside(5,'base64url')];",
  "process.stderr.write(out.map((e)=>'leak: '+e).join(nl)+nl);",
].join("");
const LEAK_LINES = 17;

/** Exits before answering initialize: a failed dry run or deploy. */
const failsAtStart = `node -e "${LEAK}process.exit(1)"`;

/** Answers initialize, then leaks and crashes: a crash report. */
const crashesLater = `node -e "${[
  "const rl=require('readline').createInterface({input:process.stdin});",
  "rl.on('line',(l)=>{const m=JSON.parse(l);",
  "if(m.method==='initialize'){process.stdout.write(JSON.stringify({jsonrpc:'2.0',id:m.id,result:{protocolVersion:",
  "m.params.protocolVersion,capabilities:{},serverInfo:{name:'leaker',version:'1'}}})+String.fromCharCode(10));",
  `setTimeout(()=>{${LEAK}process.exit(1)},300)}});`,
].join("")}"`;

/**
 * Everything that gives the secret away, computed here independently of the server: each whole
 * encoding, and for base64 inside longer base64 the digits made only of the secret's bits.
 */
function giveaways(value: string): [string, string][] {
  const bytes = Buffer.from(value);
  const url = encodeURIComponent(value);
  const runs = (["base64", "base64url"] as const).flatMap((alphabet) =>
    [0, 1, 2].map((offset): [string, string] => [
      `${alphabet} at offset ${offset}`,
      Buffer.concat([Buffer.alloc(offset), bytes])
        .toString(alphabet)
        .slice(Math.ceil((offset * 8) / 6), Math.floor(((offset + bytes.length) * 8) / 6)),
    ]),
  );
  return [
    ["raw", value],
    ["upper case", value.toUpperCase()],
    ["lower case", value.toLowerCase()],
    ["JSON-escaped", JSON.stringify(value).slice(1, -1)],
    ["hex", bytes.toString("hex")],
    ["HEX", bytes.toString("hex").toUpperCase()],
    ["URL-encoded", url],
    ["form-encoded", url.replaceAll("%20", "+")],
    ["reversed", [...value].reverse().join("")],
    ...runs,
  ];
}

/** The encodings of the secret of which `text` holds any 12 characters in a row (in any case). */
function leaked(text: string) {
  const lower = text.toLowerCase();
  return giveaways(SECRET)
    .filter(([, s]) =>
      Array.from({ length: s.length - 11 }, (_, i) => s.slice(i, i + 12).toLowerCase()).some((piece) =>
        lower.includes(piece),
      ),
    )
    .map(([name]) => name);
}

function expectNoSecret(text: string) {
  expect(leaked(text)).toEqual([]);
  // Every line arrived, each masked: an empty or cut tail would pass the check above.
  expect(text.match(/^leak: .*\[redacted\]/gm)).toHaveLength(LEAK_LINES);
}

async function deployError(p: Promise<unknown>): Promise<DeployError> {
  const err = await p.then(
    () => undefined,
    (e: unknown) => e,
  );
  if (!isDeployError(err)) throw new Error(`expected a DeployError, got ${String(err)}`);
  return err;
}

/** A hostile server prints its credential in every encoding it can think of; none may come back. */
describe("a server that prints its credential encoded", () => {
  const suite = useSandboxes(["bwrap", "setpriv", "bridge"]);
  const spec = { accountId: "account-leaker", env: { API_TOKEN: SECRET }, network: false, timeoutSeconds: 60 };

  it("leaks nothing through a failed dry run", async () => {
    const err = await deployError(suite.runtime.dryRun({ ...spec, startCommand: failsAtStart }));
    expectNoSecret(err.stderrTail);
    expect(err.message).toMatch(/exited before answering initialize/);
    expect(leaked(err.message)).toEqual([]);
  });

  it("leaks nothing through a failed deploy", async () => {
    const err = await deployError(
      suite.runtime.deploy({ ...spec, connectionId: "conn-leak-start", startCommand: failsAtStart }),
    );
    expectNoSecret(err.stderrTail);
    expect(leaked(err.message)).toEqual([]);
  });

  it("leaks nothing through the crash report of a running server", async () => {
    const crashed = new Promise<CrashReport>((resolve) => {
      suite.runtime.onCrash = resolve;
    });
    await suite.runtime.deploy({ ...spec, connectionId: "conn-leak-crash", startCommand: crashesLater });
    const report = await withTimeout(crashed, 30_000, "the crash report");
    expect(report.connectionId).toBe("conn-leak-crash");
    expectNoSecret(report.stderrTail);
  });
});
