import { spawn } from "node:child_process";
import { createRequire } from "node:module";
import path from "node:path";

/**
 * `npm run functions:serve`: the mcp-connections Edge Function under Deno (the npm `deno`
 * package), as Supabase serves it, at http://localhost:$PORT/functions/v1/mcp-connections
 * (PORT default 54321), reading the same environment as the app.
 */
const root = path.resolve(import.meta.dirname, "..");
// The binary of the npm package's platform dependency, found as its own bin.cjs finds it (which
// would stay between us and Deno as one more process, signals and all).
const deno = createRequire(import.meta.url)("deno/install_api.cjs").runInstall();
const dir = path.join(root, "supabase/functions/mcp-connections");
const env = { ...process.env, PORT: process.env.PORT || "54321", DENO_NO_UPDATE_CHECK: "1" };
const args = ["run", "--allow-net", "--allow-env", "--allow-read", "--allow-sys", "--config", "deno.json", "index.ts"];
const child = spawn(deno, args, { cwd: dir, env, stdio: "inherit" });
for (const signal of ["SIGINT", "SIGTERM"]) process.on(signal, () => child.kill(signal));
child.on("exit", (code, signal) => process.exit(code ?? (signal ? 1 : 0)));
