import { expect, test } from "@playwright/test";
import { githubLikeDefinition, LocalOAuthProvider } from "../tests/support/oauth-provider";
import { addDefinition, expectAccessible, screenshot, signInOrSetUp } from "./support";

// "Connect with GitHub" in Chromium, against an OAuth provider on this machine (oauth2-mock-server)
// declared as the catalogue's GitHub is declared: the install form sends the browser there, the
// provider sends it back, and the connection runs; when the provider later refuses to refresh the
// token, the page says so and connecting again brings it back.

const provider = new LocalOAuthProvider();

test.beforeAll(async () => {
  const issuer = await provider.start(Number(process.env.E2E_OAUTH_PORT));
  addDefinition(githubLikeDefinition(issuer));
});
test.afterAll(() => provider.stop());

test("an admin connects a server with GitHub, and connects it again when the provider stops refreshing", async ({
  page,
}) => {
  await signInOrSetUp(page);
  await page.goto("/dashboard/install/github-local");
  // The token is the provider's to give: the form asks only for the rest.
  await expect(page.getByLabel("Personal access token")).toHaveCount(0);
  await page.getByLabel("Organization").fill("acme");
  await page.getByLabel("Name").fill("GitHub via OAuth");
  provider.lifetime = 8; // refreshed a few seconds after it is issued
  await page.getByRole("button", { name: "Connect with GitHub" }).click();

  // Through the provider and back, onto the new connection's page.
  await page.waitForURL(/\/dashboard\/connections\/[\w-]+$/);
  const status = page.getByTestId("connection-status");
  await expect(status).toHaveText(/running/i, { timeout: 30_000 });
  const timeline = page.getByTestId("event-timeline");
  await expect(timeline).toContainText("authorized");

  // The next refresh is refused: the page says a sign-in is needed, at once, with the way back.
  provider.refuse = true;
  await expect(status).toHaveText("Sign-in needed", { timeout: 30_000 });
  const card = page.getByTestId("connect-provider");
  await expect(card).toContainText("Sign in with GitHub to run this connection");
  await expect(card).toContainText("invalid_grant");
  await expect(page.getByRole("button", { name: "Restart" })).toHaveCount(0);
  await expectAccessible(page, "a connection that needs its provider sign-in again");
  await screenshot(page, "auth-required");

  provider.refuse = false;
  provider.lifetime = 3600;
  await card.getByRole("button", { name: "Connect with GitHub" }).click();
  await expect(status).toHaveText(/running/i, { timeout: 30_000 });
  await expect(card).toBeHidden();
});

test("the install form offers pasting a token instead, and a declined sign-in is shown on the page", async ({
  page,
}) => {
  await signInOrSetUp(page);
  await page.goto("/dashboard/install/github-local");
  await page.getByRole("button", { name: "Paste a token instead" }).click();
  await expect(page.getByLabel("Personal access token")).toBeVisible();
  await page.getByRole("button", { name: "Connect with GitHub instead" }).click();
  await expect(page.getByLabel("Personal access token")).toHaveCount(0);

  // The person declines at the provider (RFC 6749 §4.1.2.1): back on the page, told so.
  provider.server.service.once("beforeAuthorizeRedirect", ({ url }) => {
    url.searchParams.delete("code");
    url.searchParams.set("error", "access_denied");
  });
  await page.getByLabel("Name").fill("GitHub declined");
  await page.getByRole("button", { name: "Connect with GitHub" }).click();
  await page.waitForURL(/oauth_error=/);
  await expect(page.getByTestId("connect-provider")).toContainText("access_denied");
  await expect(page.getByTestId("connection-status")).toHaveText("Sign-in needed");
});
