import fs from "node:fs";
import path from "node:path";
import { expect, type Locator, type Page, test } from "@playwright/test";
import { accountId, expectNoHorizontalScroll, signInOrSetUp } from "./support";

// The connection page's inspector against the reference server (`everything`): a form per tool,
// rendered results (text, JSON, images), resources, prompts and the history, on a desktop, on a
// phone and in dark mode.

const SCREENSHOT = path.join("docs", "screenshots", "inspector.png");

test.describe.configure({ mode: "serial" });

type Tool = { name: string; inputSchema?: { properties?: Record<string, { type?: string }>; required?: string[] } };

/** Installs `everything` with the page's session cookie; its tools as the API lists them. */
async function install(page: Page, name: string) {
  const installed = await page.request.post("/api/mcp-connections/install", {
    data: { account_id: await accountId(page), server_id: "everything", name },
  });
  expect(installed.status()).toBe(201);
  const conn = (await installed.json()).data as { id: string; status: string };
  expect(conn.status).toBe("running");
  const tools = (await (await page.request.get(`/api/mcp-connections/${conn.id}/tools`)).json()).data as Tool[];
  return { conn, tools };
}

/** The lightness of a computed colour, 0 to 1 (Chromium gives lab(), oklch() or rgb()). */
async function lightness(el: Locator, prop: "backgroundColor" | "color") {
  const value = await el.evaluate((e, p) => getComputedStyle(e)[p], prop);
  const ok = /^okl(?:ch|ab)\(([\d.]+)/.exec(value);
  if (ok) return Number(ok[1]);
  const lab = /^l(?:ch|ab)\(([\d.]+)/.exec(value);
  if (lab) return Number(lab[1]) / 100;
  const [r = 0, g = 0, b = 0] = (value.match(/[\d.]+/g) ?? []).map(Number);
  return (0.2126 * r + 0.7152 * g + 0.0722 * b) / 255;
}

const VARIANTS = [
  { name: "desktop", viewport: { width: 1440, height: 900 }, dark: false },
  { name: "phone", viewport: { width: 390, height: 844 }, dark: false },
  { name: "dark", viewport: { width: 1440, height: 900 }, dark: true },
];

for (const variant of VARIANTS) {
  test(`the inspector: tools form, results, resources, prompts and history (${variant.name})`, async ({ page }) => {
    test.setTimeout(120_000);
    await page.setViewportSize(variant.viewport);
    if (variant.dark) await page.emulateMedia({ colorScheme: "dark" });
    await signInOrSetUp(page);
    const { conn, tools } = await install(page, `Inspector ${variant.name}`);

    // The reference server's tools, found by what they take, not by a guessed name.
    const names = tools.map((t) => t.name);
    expect(names).toContain("echo");
    const numeric = (t: Tool) => {
      const props = Object.values(t.inputSchema?.properties ?? {});
      return props.length === 2 && props.every((p) => p.type === "number");
    };
    const sum = tools.find((t) => numeric(t) && /sum|add/.test(t.name));
    const image = tools.find((t) => /image/.test(t.name) && /tiny/.test(t.name));
    expect(sum, names.join(", ")).toBeDefined();
    expect(image, names.join(", ")).toBeDefined();
    const [a = "", b = ""] = Object.keys(sum?.inputSchema?.properties ?? {});

    await page.goto(`/dashboard/connections/${conn.id}`);
    // The dashboard follows the system's colour scheme (next-themes sets .dark on <html>).
    await expect(page.locator("html")).toHaveClass(variant.dark ? /dark/ : /^(?!.*dark)/);
    const inspector = page
      .locator("[data-slot=card]")
      .filter({ has: page.getByRole("heading", { name: "Inspector", exact: true }) });
    await expect(page.getByRole("tab", { name: "Tools" })).toHaveAttribute("aria-selected", "true");
    const tool = page.getByLabel("Tool", { exact: true });

    // echo: a form field from its inputSchema, required, and a text result as wrapped text.
    await tool.selectOption("echo");
    const message = page.getByRole("textbox", { name: "message", exact: true });
    await expect(message).toHaveAttribute("aria-required", "true");
    await expect(inspector.getByText("*", { exact: true }).first()).toBeVisible();
    await message.fill("hello from the form");
    await page.getByRole("button", { name: "Call" }).click();
    const result = page.getByTestId("tool-result");
    await expect(result).toContainText("hello from the form");
    await expect(result.locator("pre")).toHaveCSS("white-space", "pre-wrap");

    // A tool of two numbers: a required one left empty is flagged, linked and focused.
    await tool.selectOption(sum?.name ?? "");
    const first = page.getByRole("textbox", { name: a, exact: true });
    const second = page.getByRole("textbox", { name: b, exact: true });
    await first.fill("2");
    await page.getByRole("button", { name: "Call" }).click();
    await expect(second).toHaveAttribute("aria-invalid", "true");
    await expect(second).toBeFocused();
    const describedBy = (await second.getAttribute("aria-describedby")) ?? "";
    const errorId = describedBy.split(" ").find((id) => id.endsWith("-error")) ?? "missing";
    await expect(page.locator(`[id="${errorId}"]`)).toHaveText("Required.");
    await second.fill("abc");
    await page.getByRole("button", { name: "Call" }).click();
    await expect(page.locator(`[id="${errorId}"]`)).toHaveText("Enter a number.");
    await expect(second).toBeFocused();
    await second.fill("3.5");
    await page.getByRole("button", { name: "Call" }).click();
    await expect(result).toContainText("5.5");
    await expect(second).not.toHaveAttribute("aria-invalid", "true");

    // An image result: an <img> from a data: URL that the browser decodes.
    await tool.selectOption(image?.name ?? "");
    await page.getByRole("button", { name: "Call" }).click();
    const img = result.locator("img");
    await expect(img).toBeVisible();
    expect(await img.getAttribute("src")).toMatch(/^data:image\/png;base64,/);
    expect(await img.evaluate((i) => (i as HTMLImageElement).naturalWidth)).toBeGreaterThan(0);

    // Tabs: arrow keys move between them.
    await page.getByRole("tab", { name: "Tools" }).focus();
    await page.keyboard.press("ArrowRight");
    const resourcesTab = page.getByRole("tab", { name: "Resources" });
    await expect(resourcesTab).toHaveAttribute("aria-selected", "true");
    await expect(resourcesTab).toBeFocused();
    await expect(page.getByRole("tabpanel", { name: "Resources" })).toBeVisible();

    // Resources: listed with their URIs; reading one shows its contents.
    const list = page.getByTestId("resource-list");
    await expect(list.locator("li").first()).toBeVisible();
    const uri = (await list.locator("li code").first().textContent()) ?? "";
    expect(uri).toMatch(/^\w+:\/\//);
    await list
      .locator("li")
      .first()
      .getByRole("button", { name: /^Read / })
      .click();
    const contents = page.getByTestId("resource-result");
    await expect(contents).toContainText(uri);
    await expect(contents.locator("pre, [data-testid=json-view]").first()).toBeVisible();

    // Prompts: one with arguments, gotten with a value, its messages shown.
    await resourcesTab.focus();
    await page.keyboard.press("ArrowRight");
    await expect(page.getByRole("tab", { name: "Prompts" })).toHaveAttribute("aria-selected", "true");
    await page.getByRole("button", { name: /args-prompt/ }).click();
    const city = page.getByRole("textbox", { name: "city", exact: true });
    await expect(city).toHaveAttribute("aria-required", "true");
    await page.getByRole("button", { name: "Get prompt" }).click();
    await expect(city).toBeFocused();
    await expect(city).toHaveAttribute("aria-invalid", "true");
    await city.fill("Oslo");
    await page.getByRole("button", { name: "Get prompt" }).click();
    await expect(page.getByTestId("prompt-result")).toContainText("Oslo");
    await expect(page.getByTestId("prompt-result")).toContainText("user");

    // History: this page's calls, newest first; one shows its arguments and result again.
    const history = page.getByTestId("inspector-history").locator("li");
    await expect(history).toHaveCount(5);
    await expect(history.nth(0)).toContainText("args-prompt");
    await expect(history.nth(1)).toContainText(uri);
    await expect(history.nth(2)).toContainText(image?.name ?? "");
    await expect(history.nth(4)).toContainText("echo");
    await expect(history.nth(4)).toContainText("ok");
    await history.nth(4).getByRole("button").click();
    const detail = page.getByTestId("history-detail");
    await expect(detail).toContainText("hello from the form");
    await expect(detail.getByTestId("history-result")).toContainText("hello from the form");

    // The page never scrolls sideways; long answers scroll in their own boxes. The inspector is checked
    // at the width a phone leaves it (358 px: 390 less the page's padding), whatever the cards around it do.
    const outside = await inspector.evaluate((card, narrow) => {
      if (narrow) (card as HTMLElement).style.width = "358px";
      const right = card.getBoundingClientRect().right + 1;
      const clipped = (el: Element) => {
        for (let p = el.parentElement; p && p !== card; p = p.parentElement) {
          if (["auto", "scroll", "hidden"].includes(getComputedStyle(p).overflowX)) return true;
        }
        return false;
      };
      const out = Array.from(card.querySelectorAll("*"))
        .filter((el) => el.getBoundingClientRect().right > right && !clipped(el))
        .map((el) => `${el.tagName}.${String(el.className).slice(0, 60)}`);
      (card as HTMLElement).style.width = "";
      return out;
    }, variant.viewport.width < 500);
    expect(outside).toEqual([]);
    await expectNoHorizontalScroll(page, `the connection page (${variant.name})`);
    expect(await inspector.evaluate((el) => el.scrollWidth <= el.clientWidth)).toBe(true);

    if (variant.dark) {
      expect(await lightness(inspector, "backgroundColor")).toBeLessThan(0.4);
      expect(await lightness(inspector, "color")).toBeGreaterThan(0.8);
      expect(await lightness(detail.locator("[data-testid=json-view]").first(), "backgroundColor")).toBeLessThan(0.4);
    }

    // Accessibility of the inspector (axe-core, WCAG A/AA rules).
    await page.addScriptTag({ path: path.join("node_modules", "axe-core", "axe.min.js") });
    const violations = await inspector.evaluate(async (el) => {
      const axe = (
        window as unknown as { axe: { run: (e: Element, o: unknown) => Promise<{ violations: unknown[] }> } }
      ).axe;
      const res = await axe.run(el, { runOnly: { type: "tag", values: ["wcag2a", "wcag2aa"] } });
      return res.violations.map((v) => {
        const x = v as { id: string; nodes: { target: unknown }[] };
        return `${x.id}: ${x.nodes.map((n) => JSON.stringify(n.target)).join(" ")}`;
      });
    });
    expect(violations).toEqual([]);

    if (variant.name === "desktop") {
      fs.mkdirSync(path.dirname(SCREENSHOT), { recursive: true });
      await page.getByRole("tab", { name: "Tools" }).click();
      await inspector.screenshot({ path: SCREENSHOT });
    }

    expect(
      (
        await page.request.delete(`/api/mcp-connections/${conn.id}`, {
          headers: { "content-type": "application/json" },
        })
      ).status(),
    ).toBeLessThan(300);
  });
}
