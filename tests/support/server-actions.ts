import fs from "node:fs";
import path from "node:path";

const ROOT = path.resolve(import.meta.dirname, "../..");

export type ActionResult = {
  status: number;
  text: string;
  result?: any;
  setCookies: string[];
  /** Where a redirect pointed, as sent. */
  location: string | null;
};

/** The production build's server action ids, by exported name (as a browser finds them in its chunks). */
export function actionIds(): Record<string, string> {
  const manifest = JSON.parse(fs.readFileSync(path.join(ROOT, ".next/server/server-reference-manifest.json"), "utf8"));
  return Object.fromEntries(Object.entries<any>(manifest.node).map(([id, v]) => [v.exportedName, id]));
}

/**
 * Calls a server action directly, as the browser's callServer does (JSON-encoded arguments), from
 * `page`; `result` is what the action answered (the flight stream's line 1), if it ran.
 */
export async function callAction(
  url: string,
  {
    cookie,
    page,
    action,
    args,
    headers = {},
  }: {
    cookie: string;
    page: string;
    /** The action's id (or anything, to try a forged one). */
    action: string;
    args: unknown[] | string;
    headers?: Record<string, string>;
  },
): Promise<ActionResult> {
  const res = await fetch(`${url}${page}`, {
    method: "POST",
    redirect: "manual",
    headers: {
      ...(cookie ? { cookie } : {}),
      "next-action": action,
      "content-type": "text/plain;charset=UTF-8",
      accept: "text/x-component",
      ...headers,
    },
    body: typeof args === "string" ? args : JSON.stringify(args),
  });
  const text = await res.text();
  const line = text.split("\n").find((l) => l.startsWith("1:{"));
  return {
    status: res.status,
    text,
    result: line ? JSON.parse(line.slice(2)) : undefined,
    setCookies: res.headers.getSetCookie(),
    location: res.headers.get("location"),
  };
}
