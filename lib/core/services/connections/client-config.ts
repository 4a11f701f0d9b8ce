import type { Ctx } from "@/lib/core/context";
import { getConnectionOrThrow } from "./get";

const KEY_PLACEHOLDER = "<YOUR_BERTH_API_KEY>";

/**
 * Ready-to-paste client configurations. Berth keeps only hashes of API keys, so the key is a
 * placeholder the user replaces (or `npx berth api-keys create` makes a new one).
 */
export async function clientConfig(ctx: Ctx, id: string) {
  const conn = await getConnectionOrThrow(ctx, id);
  const url = `${ctx.publicUrl}/api/mcp/${conn.id}`;
  const headers = { Authorization: `Bearer ${KEY_PLACEHOLDER}` };
  const name = conn.server_slug;
  return {
    url,
    headers,
    mcpServers: { [name]: { type: "http", url, headers } },
    claude_desktop: {
      mcpServers: {
        [name]: {
          command: "npx",
          // biome-ignore lint/suspicious/noTemplateCurlyInString: mcp-remote expands ${BERTH_AUTH} from env itself
          args: ["-y", "mcp-remote", url, "--header", "Authorization:${BERTH_AUTH}"],
          env: { BERTH_AUTH: `Bearer ${KEY_PLACEHOLDER}` },
        },
      },
    },
  };
}
