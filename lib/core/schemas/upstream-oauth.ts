import { z } from "zod";
import { nextPath } from "@/lib/auth/next-path";

const LOOPBACK = new Set(["localhost", "127.0.0.1", "[::1]"]);

/** An OAuth endpoint: https, or http on a loopback address (a provider on this machine, in tests). */
const EndpointUrl = z
  .url()
  .max(2000)
  .refine((s) => {
    // zod runs this even when the value is not a URL at all (its issue is already reported).
    if (!URL.canParse(s)) return true;
    const u = new URL(s);
    return !u.hash && (u.protocol === "https:" || (u.protocol === "http:" && LOOPBACK.has(u.hostname)));
  }, "An https URL (http only on localhost, 127.0.0.1 or [::1]), without a fragment.");

/** Where a value is in the token endpoint's JSON answer: `access_token`, `team.id`. */
const AnswerPath = z
  .string()
  .regex(
    /^[A-Za-z_][A-Za-z0-9_]*(\.[A-Za-z_][A-Za-z0-9_]*){0,4}$/,
    "A field of the token answer, like access_token or team.id.",
  );

/**
 * How a server's token is obtained through OAuth instead of pasted: the provider's endpoints, the
 * scopes asked for, and which of the definition's credentials the token answer fills. Berth's
 * operator registers Berth with the provider as an OAuth app (its client id and secret are
 * configuration: `BERTH_OAUTH_<SLUG>_CLIENT_ID` and `_CLIENT_SECRET`).
 */
export const UpstreamOAuth = z
  .strictObject({
    provider: z.string().trim().min(1).max(100).meta({ description: 'Shown as "Connect with <provider>".' }),
    authorization_url: EndpointUrl,
    token_url: EndpointUrl,
    issuer: EndpointUrl.optional().meta({
      description: "The provider's issuer identifier, if it sends `iss`; default the authorization URL's origin.",
    }),
    scopes: z
      .array(
        z
          .string()
          .regex(/^[\x21\x23-\x5b\x5d-\x7e]+$/, "A scope token.")
          .max(200),
      )
      .max(50)
      .default([]),
    scope_delimiter: z.enum([" ", ","]).default(" ").meta({
      description: "How scopes are joined: a space as OAuth says, or a comma (Slack).",
    }),
    env: z
      .record(z.string(), AnswerPath)
      .refine((env) => Object.keys(env).length > 0, "At least the variable the access token goes to.")
      .meta({
        description:
          'Which credentials the token answer fills, each from a field of it: `{"GITHUB_PERSONAL_ACCESS_TOKEN": "access_token"}`. Each must be a property of the credential schema; the install form asks only for the others.',
      }),
    refresh: z.boolean().default(true).meta({
      description:
        "Whether Berth refreshes an expiring token with the refresh token (restarting the server, which reads it at start). Without, an expired token makes the connection `auth_required`.",
    }),
    authorization_params: z
      .record(z.string().regex(/^[a-z_]{1,40}$/), z.string().max(500))
      .default({})
      .refine(
        (p) => !Object.keys(p).some((k) => RESERVED_PARAMS.has(k)),
        "Berth sets response_type, client_id, redirect_uri, scope, state and the PKCE parameters itself.",
      )
      .meta({ description: "More parameters for the authorization request (e.g. `prompt`)." }),
  })
  .meta({ id: "UpstreamOAuth" });
export type UpstreamOAuth = z.infer<typeof UpstreamOAuth>;

const RESERVED_PARAMS = new Set([
  "response_type",
  "client_id",
  "redirect_uri",
  "scope",
  "state",
  "code_challenge",
  "code_challenge_method",
]);

/** Start an authorization: where the browser returns afterwards (a path of this Berth). */
export const AuthorizeInput = z
  .strictObject({
    return_to: z
      .string()
      .max(500)
      // As it will be sent: the same path once normalized (no dot segments, nothing another site).
      .refine((path) => nextPath(path) === path, "A path of this Berth, like /dashboard/connections.")
      .optional()
      .meta({ description: "Where the browser goes once the provider sends it back; default the connection's page." }),
  })
  .meta({ id: "AuthorizeInput" });

export const AuthorizeAnswer = z
  .object({
    authorization_url: z.url().meta({ description: "Open it in the browser of whoever signs in to the provider." }),
    expires_at: z.iso.datetime().meta({ description: "The authorization must finish before this (ten minutes)." }),
  })
  .meta({ id: "AuthorizeAnswer" });
