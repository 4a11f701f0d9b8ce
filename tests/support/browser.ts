import { chromium } from "playwright-core";

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
