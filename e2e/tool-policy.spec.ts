import { Client } from "@modelcontextprotocol/sdk/client/index.js";
import { StreamableHTTPClientTransport } from "@modelcontextprotocol/sdk/client/streamableHttp.js";
import { expect, test } from "@playwright/test";
import { accountId, expectAccessible, screenshot, signInOrSetUp } from "./support";

// A connection's tool policy edited on its page, with an agent (the MCP SDK's client) connected
// the whole time: hidden and renamed tools, and a call held until it is approved or rejected there.

test("an admin hides, renames and gates tools on the page; the agent sees it and its calls wait for a decision", async ({
  page,
  baseURL,
}) => {
  await signInOrSetUp(page);
  const installed = await page.request.post("/api/mcp-connections/install", {
    data: { account_id: await accountId(page), server_id: "everything", name: "Policy demo" },
  });
  expect(installed.status()).toBe(201);
  const conn = (await installed.json()).data as { id: string; mcp_url: string };
  const key = (await (await page.request.post("/api/api-keys", { data: { name: "policy agent" } })).json()).data.key;

  const agent = new Client({ name: "e2e-agent", version: "1" });
  await agent.connect(
    new StreamableHTTPClientTransport(new URL(`${baseURL}/api/mcp/${conn.id}`), {
      requestInit: { headers: { authorization: `Bearer ${key}` } },
    }),
  );
  try {
    expect((await agent.listTools()).tools.map((t) => t.name)).toContain("get-env");

    await page.goto(`/dashboard/connections/${conn.id}`);
    const policy = page.getByRole("form", { name: "Tool policy" });
    await expect(policy.getByLabel("Offer get-env")).toBeChecked();
    await policy.getByLabel("Offer get-env").uncheck();
    await policy.getByLabel("Name agents see for echo").fill("say");
    await policy.getByLabel("get-sum needs approval").check();
    await policy.getByRole("button", { name: "Save tool policy" }).click();
    await expect(page.getByText("Tool policy saved")).toBeVisible();

    const names = (await agent.listTools()).tools.map((t) => t.name);
    expect(names).not.toContain("get-env");
    expect(names).not.toContain("echo");
    expect(names).toContain("say");

    // Held until approved on the page, then answered.
    const approved = agent.callTool({ name: "get-sum", arguments: { a: 20, b: 22 } });
    const waiting = page.getByTestId("pending-approvals");
    await expect(waiting).toContainText("get-sum");
    await expect(waiting).toContainText("e2e-agent");
    await expect(waiting).toContainText('"a":20');
    await expectAccessible(page, "a connection with a call waiting for approval");
    await screenshot(page, "tool-policy");
    await waiting.getByRole("button", { name: "Approve" }).click();
    expect(JSON.stringify((await approved).content)).toContain("42");
    await expect(waiting).toBeHidden();

    const rejected = agent.callTool({ name: "get-sum", arguments: { a: 1, b: 1 } });
    await expect(waiting).toContainText('"a":1');
    await waiting.getByRole("button", { name: "Reject" }).click();
    expect((await rejected).isError).toBe(true);
    await expect(page.getByTestId("event-timeline")).toContainText("get-sum · rejected · by user");
    await expect(page.getByTestId("event-timeline")).toContainText("tool_policy_changed");
  } finally {
    await agent.close();
  }
});
