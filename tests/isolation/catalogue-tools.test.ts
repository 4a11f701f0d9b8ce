import { describe, expect, it } from "vitest";
import { CATALOGUE } from "@/lib/catalogue/catalogue";
import { httpEndpointOf } from "@/lib/core/runtime";
import { useSandboxes } from "./helpers";

/**
 * The catalogue's cards show each built-in server's tools before anyone installs it: what its
 * definition declares. Here each server, started in its sandbox as an install starts it (with
 * placeholder credentials, as listing tools needs none), must list to Berth exactly those tools.
 */
describe("the built-in catalogue declares the tools its servers list", () => {
  const suite = useSandboxes(["bwrap", "setpriv", "bridge", "cgroups"]);

  it.each(CATALOGUE.map((d) => [d.slug, d] as const))("%s", async (_slug, definition) => {
    const schema = definition.credential_schema as { properties?: Record<string, unknown> };
    const placeholders = Object.fromEntries(Object.keys(schema.properties ?? {}).map((k) => [k, "placeholder"]));
    const tools = await suite.runtime.dryRun({
      accountId: "catalogue-tools",
      startCommand: definition.start_command,
      env: { ...definition.env, ...placeholders },
      network: false,
      http: httpEndpointOf(definition),
      timeoutSeconds: 60,
    });
    expect(definition.tools).not.toBeNull();
    expect(tools.map((t) => t.name).sort()).toEqual([...(definition.tools ?? [])].sort());
  });
});
