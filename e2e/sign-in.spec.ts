import { expect, type Page, request, test } from "@playwright/test";

const OWNER = { account: "Acme", email: "owner@acme.test", password: "correct horse battery" };

// The first test creates the account the second one signs in to.
test.describe.configure({ mode: "serial" });

async function signIn(page: Page, password: string) {
  await page.goto("/sign-in");
  await page.getByLabel("Email").fill(OWNER.email);
  await page.getByLabel("Password").fill(password);
  await page.getByRole("button", { name: "Sign in" }).click();
}

test("first-run setup, sign out, sign in", async ({ page }) => {
  await page.goto("/");
  await expect(page).toHaveURL(/\/sign-in$/);

  await page.getByRole("link", { name: "Set up Berth" }).click();
  await expect(page).toHaveURL(/\/setup$/);
  await page.getByLabel("Account name").fill(OWNER.account);
  await page.getByLabel("Your email").fill(OWNER.email);
  await page.getByLabel("Password").fill(OWNER.password);
  await page.getByRole("button", { name: "Create account" }).click();

  await expect(page).toHaveURL(/\/dashboard$/);
  await expect(page.getByRole("heading", { level: 1, name: OWNER.account })).toBeVisible();
  await expect(page.getByTestId("user-email")).toHaveText(OWNER.email);
  await expect(page.getByTestId("server-memory").getByText("Memory", { exact: true })).toBeVisible();
  await expect(page.getByText("No connections yet")).toBeVisible();
  if (process.env.E2E_SCREENSHOT) await page.screenshot({ path: process.env.E2E_SCREENSHOT, fullPage: true });

  // Setup is for the first run only.
  await page.goto("/setup");
  await expect(page).toHaveURL(/\/dashboard$/);

  await page.getByRole("button", { name: "Sign out" }).click();
  await expect(page).toHaveURL(/\/sign-in$/);
  await page.goto("/dashboard");
  await expect(page).toHaveURL(/\/sign-in$/);

  await signIn(page, "not the password");
  await expect(page.getByTestId("form-error")).toHaveText("Wrong email or password.");
  await expect(page).toHaveURL(/\/sign-in$/);

  await signIn(page, OWNER.password);
  await expect(page).toHaveURL(/\/dashboard$/);
  await expect(page.getByRole("heading", { level: 1, name: OWNER.account })).toBeVisible();
});

test("the session cookie authenticates the REST API", async ({ page, baseURL }) => {
  await signIn(page, OWNER.password);
  await expect(page).toHaveURL(/\/dashboard$/);

  const res = await page.request.get("/api/mcp-connections");
  expect(res.status()).toBe(200);
  expect(await res.json()).toEqual({ data: [] });

  const anonymous = await request.newContext({ baseURL });
  const denied = await anonymous.get("/api/mcp-connections");
  expect(denied.status()).toBe(401);
  expect((await denied.json()).error.code).toBe("unauthorized");
  await anonymous.dispose();
});
