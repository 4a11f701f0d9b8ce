import type { ServerDefinition, ServerDefinitionInput } from "@/lib/core/schemas/server-definition";

/** The definition editor's fields, as typed: text until it is sent. */
export type Draft = {
  slug: string;
  title: string;
  description: string;
  start_command: string;
  version: string;
  minutes: string;
  transport: "stdio" | "streamable-http";
  port: string;
  path: string;
  network: boolean;
  /** NAME=value lines. */
  env: string;
  /** JSON. */
  credential_schema: string;
  /** One name a line. */
  tools: string;
  /** JSON, or empty for none. */
  check: string;
  /** JSON, or empty for pasted credentials only. */
  oauth: string;
};

const json = (value: unknown) => JSON.stringify(value, null, 2);

export function draftOf(d?: ServerDefinition): Draft {
  return {
    slug: d?.slug ?? "",
    title: d?.title ?? "",
    description: d?.description ?? "",
    start_command: d?.start_command ?? "",
    version: d?.version ?? "1",
    minutes: String((d?.default_timeout ?? 3600) / 60),
    transport: d?.transport ?? "stdio",
    port: d?.port === undefined ? "" : String(d.port),
    path: d?.path ?? "",
    network: d?.network ?? false,
    env: Object.entries(d?.env ?? {})
      .map(([k, v]) => `${k}=${v}`)
      .join("\n"),
    credential_schema: json(d?.credential_schema ?? { type: "object", properties: {} }),
    tools: (d?.tools ?? []).join("\n"),
    check: d?.check ? json(d.check) : "",
    oauth: d?.oauth ? json(declaredOAuth(d.oauth)) : "",
  };
}

/**
 * The definition the draft stands for, or the fields that cannot be read as typed (JSON that does
 * not parse, an environment line without `=`). Everything else is the service's to judge.
 */
export function inputOf(draft: Draft): { input?: ServerDefinitionInput; errors: Record<string, string> } {
  const errors: Record<string, string> = {};
  const parsed = (field: "credential_schema" | "check" | "oauth", text: string) => {
    try {
      return JSON.parse(text);
    } catch (err) {
      errors[field] = `Not valid JSON: ${(err as Error).message}`;
    }
  };
  const env: Record<string, string> = {};
  for (const line of lines(draft.env)) {
    const at = line.indexOf("=");
    if (at < 1) errors.env ??= `“${line}” is not NAME=value.`;
    else env[line.slice(0, at).trim()] = line.slice(at + 1);
  }
  const http = draft.transport === "streamable-http";
  const input = {
    slug: draft.slug.trim(),
    title: draft.title,
    description: draft.description,
    start_command: draft.start_command,
    version: draft.version.trim(),
    // Sent as typed (a number or not): the service's message says what is wrong.
    default_timeout: draft.minutes.trim() === "" ? undefined : Number(draft.minutes) * 60,
    transport: draft.transport,
    ...(http && { port: draft.port.trim() === "" ? undefined : Number(draft.port) }),
    ...(http && draft.path.trim() !== "" && { path: draft.path.trim() }),
    network: draft.network,
    env,
    credential_schema: parsed("credential_schema", draft.credential_schema),
    tools: lines(draft.tools),
    ...(draft.check.trim() !== "" && { check: parsed("check", draft.check) }),
    ...(draft.oauth.trim() !== "" && { oauth: parsed("oauth", draft.oauth) }),
  } as ServerDefinitionInput;
  return Object.keys(errors).length ? { errors } : { input, errors };
}

/** The declaration as written, without what the answer adds (whether this Berth has a client there). */
function declaredOAuth({ configured: _, ...declared }: NonNullable<ServerDefinition["oauth"]>) {
  return declared;
}

const lines = (text: string) =>
  text
    .split("\n")
    .map((l) => l.trim())
    .filter(Boolean);
