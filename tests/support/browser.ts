import { type Browser, chromium } from "playwright-core";

/** Debian's Chromium, headless, as every browser test here runs it (nothing downloaded, no network of its own). */
export function launchChromium() {
  return chromium.launch({
    executablePath: "/usr/bin/chromium",
    args: [
      "--no-sandbox",
      "--disable-gpu",
      "--disable-background-networking",
      "--disable-component-update",
      "--no-first-run",
    ],
  });
}

/**
 * Signs in through Berth's sign-in page as a person does (in a context of its own, closed after):
 * the session cookie (`berth_session=…`, empty if none was set) and where the page went.
 */
export async function signInThroughPage(
  browser: Browser,
  berthUrl: string,
  email: string,
  password: string,
  next?: string,
): Promise<{ cookie: string; url: string }> {
  const context = await browser.newContext();
  try {
    const page = await context.newPage();
    await page.goto(`${berthUrl}/sign-in${next === undefined ? "" : `?next=${encodeURIComponent(next)}`}`);
    await page.fill("#email", email);
    await page.fill("#password", password);
    await Promise.all([
      page.waitForURL((u) => !u.pathname.startsWith("/sign-in"), { timeout: 20_000 }),
      page.click("button[type=submit]"),
    ]);
    const c = (await context.cookies()).find((x) => x.name === "berth_session");
    return { cookie: c ? `berth_session=${c.value}` : "", url: page.url() };
  } finally {
    await context.close();
  }
}
