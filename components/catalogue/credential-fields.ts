import type { ServerDefinition } from "@/lib/core/schemas/server-definition";

export type CredentialField = { key: string; title: string; description?: string; required: boolean; secret: boolean };

/**
 * The fields of a definition's credential schema, for the install form. Read here rather than
 * with a JSON Schema form library: credential schemas are flat objects of strings, and the API
 * validates them against the schema itself, its per-field details shown next to each field.
 */
export function credentialFields(definition: ServerDefinition, { viaOAuth = false } = {}): CredentialField[] {
  // Connecting through OAuth, the provider's answer fills some: only the others are asked for.
  const filled = new Set(viaOAuth ? Object.keys(definition.oauth?.env ?? {}) : []);
  const schema = definition.credential_schema as {
    properties?: Record<string, { title?: string; description?: string; writeOnly?: boolean }>;
    required?: string[];
  };
  return Object.entries(schema.properties ?? {})
    .filter(([key]) => !filled.has(key))
    .map(([key, p]) => ({
      key,
      title: p.title ?? key,
      description: p.description,
      required: schema.required?.includes(key) ?? false,
      secret: p.writeOnly === true || /token|key|secret|password/i.test(key),
    }));
}
