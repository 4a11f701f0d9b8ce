"use client";

import { FormField } from "@/components/forms/form-field";
import type { CredentialField } from "./credential-fields";

/**
 * One write-only input per credential of a server's schema (password inputs for secrets), each
 * with its help and the service's message for it (`credentials.<KEY>`).
 */
export function CredentialInputs({
  fields,
  values,
  onChange,
  idPrefix,
  errorOf,
}: {
  fields: CredentialField[];
  values: Record<string, string>;
  onChange: (values: Record<string, string>) => void;
  idPrefix: string;
  errorOf: (path: string) => string | undefined;
}) {
  return fields.map((f) => {
    const problem = errorOf(`credentials.${f.key}`);
    return (
      <FormField
        key={f.key}
        id={`${idPrefix}-${f.key}`}
        label={f.title}
        required={f.required}
        type={f.secret ? "password" : "text"}
        autoComplete="off"
        hint={f.description}
        value={values[f.key] ?? ""}
        onChange={(e) => onChange({ ...values, [f.key]: e.target.value })}
        errors={problem ? [problem] : undefined}
      />
    );
  });
}
