import { z } from "zod";

export const OAuthGrant = z
  .object({
    id: z.uuid().meta({ description: "The grant's id (revoke it with DELETE)." }),
    client_name: z.string().meta({ description: "The name the MCP client registered with." }),
    user_id: z.uuid().meta({ description: "Who allowed it; its calls act as this user." }),
    email: z.string().nullable(),
    created_at: z.string().meta({ description: "When it was allowed (ISO 8601 UTC)." }),
    last_issued_at: z.string().meta({ description: "When it last got tokens (a refresh)." }),
  })
  .meta({
    id: "OAuthGrant",
    description: "An MCP client a person allowed, through OAuth, to use one connection.",
  });

export const GrantParams = z.object({
  id: z.uuid().meta({ description: "The connection's id." }),
  grantId: z.uuid().meta({ description: "The grant's id." }),
});
