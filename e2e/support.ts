import { execFileSync } from "node:child_process";
import fs from "node:fs";
import { createRequire } from "node:module";
import path from "node:path";
import zlib from "node:zlib";
import { expect, type Page } from "@playwright/test";

/** The account the dashboard suites share: the first test of dashboard.spec.ts creates it. */
export const OWNER = { account: "Acme", email: "owner@acme.test", password: "correct horse battery" };

export const DESKTOP = { width: 1440, height: 900 };
export const PHONE = { width: 390, height: 844 };

export async function signIn(page: Page, who: { email: string; password: string } = OWNER) {
  await page.goto("/sign-in");
  await page.getByLabel("Email").fill(who.email);
  await page.getByLabel("Password").fill(who.password);
  await page.getByRole("button", { name: "Sign in" }).click();
  await page.waitForURL((url) => !url.pathname.startsWith("/sign-in"));
}

/** Signs in as OWNER, creating the first account at /setup on a fresh data directory. */
export async function signInOrSetUp(page: Page) {
  await page.goto("/setup");
  if (/\/setup$/.test(page.url())) {
    await page.getByLabel("Account name").fill(OWNER.account);
    await page.getByLabel("Your email").fill(OWNER.email);
    await page.getByLabel("Password").fill(OWNER.password);
    await page.getByRole("button", { name: "Create account" }).click();
  } else if (!/\/dashboard$/.test(page.url())) {
    await page.goto("/sign-in");
    await page.getByLabel("Email").fill(OWNER.email);
    await page.getByLabel("Password").fill(OWNER.password);
    await page.getByRole("button", { name: "Sign in" }).click();
  }
  await expect(page).toHaveURL(/\/dashboard$/);
}

/** The signed-in page's account id (REST bodies name it). */
export async function accountId(page: Page): Promise<string> {
  const res = await page.request.get("/api/account");
  expect(res.status()).toBe(200);
  return (await res.json()).data.id;
}

/** The dashboard's server, as its operator: `npx berth …` against the suite's data directory. */
export function berthCli(args: string[]): unknown {
  const out = execFileSync(process.execPath, ["bin/berth.mjs", ...args, "--json"], {
    env: { ...process.env, BERTH_DATA_DIR: process.env.E2E_BERTH_DATA_DIR },
    encoding: "utf8",
  });
  return JSON.parse(out);
}

/** Adds a server definition to the catalogue from a JSON file (as an operator would). */
export function addDefinition(definition: Record<string, unknown>) {
  const file = path.join(process.env.E2E_BERTH_DATA_DIR as string, `${definition.slug}.json`);
  fs.writeFileSync(file, JSON.stringify(definition));
  return berthCli(["servers", "add", "--file", file]);
}

const axeSource = fs.readFileSync(createRequire(import.meta.url).resolve("axe-core/axe.min.js"), "utf8");

/** axe-core on the page as it is now: no serious or critical violation (WCAG 2.2 AA rules). */
export async function expectAccessible(page: Page, what: string) {
  await page.addScriptTag({ content: axeSource });
  const violations = await page.evaluate(async () => {
    const axe = (
      window as unknown as { axe: { run(ctx: Document, opts: object): Promise<{ violations: Violation[] }> } }
    ).axe;
    type Violation = { id: string; impact: string; help: string; nodes: { target: string[] }[] };
    const result = await axe.run(document, {
      runOnly: { type: "tag", values: ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa", "wcag22aa", "best-practice"] },
    });
    return result.violations
      .filter((v) => v.impact === "serious" || v.impact === "critical")
      .map((v) => `${v.id} (${v.impact}): ${v.help} at ${v.nodes.map((n) => n.target.join(" ")).join(", ")}`);
  });
  expect(violations, `axe on ${what}`).toEqual([]);
}

/** No horizontal scrolling: the page is no wider than the viewport. */
export async function expectNoHorizontalScroll(page: Page, what: string) {
  const { scroll, viewport } = await page.evaluate(() => ({
    scroll: document.documentElement.scrollWidth,
    viewport: window.innerWidth,
  }));
  expect(scroll, `${what} is ${scroll} px wide in a ${viewport} px viewport`).toBeLessThanOrEqual(viewport);
}

/** Writes docs/screenshots/<name>.png, the README's pictures. */
export async function screenshot(page: Page, name: string) {
  await page.screenshot({ path: path.join("docs/screenshots", `${name}.png`), fullPage: true });
}

/**
 * The JavaScript files a first visit to `url` loads, gzip-compressed as a CDN would serve them, in
 * KiB: the "first-load JS" of the route as Next.js counts it (the page's inline data is HTML).
 */
export async function firstLoadJsKiB(page: Page, url: string): Promise<number> {
  const scripts: Promise<Buffer>[] = [];
  const collect = (res: import("@playwright/test").Response) => {
    if (res.request().resourceType() === "script") scripts.push(res.body().catch(() => Buffer.alloc(0)));
  };
  page.on("response", collect);
  await page.goto(url, { waitUntil: "load" });
  page.off("response", collect);
  const bodies = await Promise.all(scripts);
  const bytes = bodies.reduce((n, b) => n + zlib.gzipSync(b).length, 0);
  return Math.round(bytes / 102.4) / 10;
}
