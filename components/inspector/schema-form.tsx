"use client";

import { Input } from "@/components/ui/input";
import { Label } from "@/components/ui/label";
import {
  type Field,
  type FieldError,
  type FormValue,
  type FormValues,
  fieldId,
} from "@/lib/client/inspector/schema-form";
import { cn } from "@/lib/cn";

/** The classes of a native select or textarea, matching <Input>. */
export const FIELD =
  "border-input bg-background text-foreground dark:bg-input/30 w-full min-w-0 max-w-full rounded-md border px-3 py-2 text-sm shadow-xs outline-none focus-visible:border-ring focus-visible:ring-ring focus-visible:ring-[3px] aria-invalid:border-destructive aria-invalid:ring-destructive/20";

const samePath = (a: string[], b: string[]) => a.length === b.length && a.every((x, i) => x === b[i]);

/** Form fields for a mapped schema (see lib/client/inspector/schema-form.ts), recursive for objects. */
export function SchemaFields({
  fields,
  values,
  onChange,
  errors,
  prefix,
}: {
  fields: Field[];
  values: FormValues;
  onChange: (values: FormValues) => void;
  errors: FieldError[];
  prefix: string;
}) {
  return (
    <div className="grid grid-cols-1 gap-4">
      {fields.map((f) => (
        <FieldControl
          key={f.key}
          field={f}
          value={values[f.key]}
          onChange={(v) => onChange({ ...values, [f.key]: v })}
          errors={errors}
          prefix={prefix}
        />
      ))}
    </div>
  );
}

function Required() {
  return (
    <span aria-hidden="true" className="text-destructive">
      *
    </span>
  );
}

function FieldControl({
  field: f,
  value,
  onChange,
  errors,
  prefix,
}: {
  field: Field;
  value: FormValue | undefined;
  onChange: (value: FormValue) => void;
  errors: FieldError[];
  prefix: string;
}) {
  const id = fieldId(prefix, f.path);
  const error = errors.find((e) => samePath(e.path, f.path));
  const hint = hintOf(f);
  const describedBy =
    [f.description && `${id}-help`, hint && `${id}-hint`, error && `${id}-error`].filter(Boolean).join(" ") ||
    undefined;
  const aria = {
    id,
    "aria-required": f.required || undefined,
    "aria-invalid": error ? true : undefined,
    "aria-describedby": describedBy,
  };
  const help = (
    <>
      {f.description && (
        <p id={`${id}-help`} className="text-muted-foreground text-xs break-words">
          {f.description}
        </p>
      )}
      {hint && (
        <p id={`${id}-hint`} className="text-muted-foreground text-xs">
          {hint}
        </p>
      )}
      {error && (
        <p id={`${id}-error`} className="text-destructive text-xs" data-testid={`field-error-${f.path.join(".")}`}>
          {error.message}
        </p>
      )}
    </>
  );

  if (f.kind === "object") {
    return (
      <fieldset className="grid min-w-0 grid-cols-1 gap-3 rounded-md border p-3" aria-describedby={describedBy}>
        <legend className="px-1 text-sm font-medium">
          {f.label} {f.required && <Required />}
        </legend>
        {help}
        <SchemaFields
          fields={f.fields ?? []}
          values={typeof value === "object" ? value : {}}
          onChange={onChange}
          errors={errors}
          prefix={prefix}
        />
      </fieldset>
    );
  }

  if (f.kind === "boolean") {
    return (
      <div className="grid grid-cols-1 gap-1.5">
        <div className="flex items-center gap-2">
          <input
            type="checkbox"
            className="accent-primary size-4"
            checked={value === true}
            onChange={(e) => onChange(e.target.checked)}
            {...aria}
          />
          <Label htmlFor={id}>
            {f.label} {f.required && <Required />}
          </Label>
        </div>
        {help}
      </div>
    );
  }

  const text = typeof value === "string" ? value : "";
  let control: React.ReactNode;
  if (f.kind === "enum") {
    control = (
      <select className={FIELD} value={text} onChange={(e) => onChange(e.target.value)} {...aria}>
        <option value="">{f.required ? "Choose one" : "(none)"}</option>
        {f.options?.map((o) => (
          <option key={String(o)} value={String(o)}>
            {String(o)}
          </option>
        ))}
      </select>
    );
  } else if (f.kind === "text" || f.kind === "array") {
    control = (
      <textarea
        className={cn(FIELD, "min-h-20", f.kind === "array" && "font-mono")}
        rows={f.kind === "array" ? 3 : 5}
        value={text}
        onChange={(e) => onChange(e.target.value)}
        spellCheck={f.kind === "text"}
        {...aria}
      />
    );
  } else {
    const numeric = f.kind === "number" || f.kind === "integer";
    control = (
      <Input
        type="text"
        inputMode={f.kind === "integer" ? "numeric" : numeric ? "decimal" : undefined}
        value={text}
        onChange={(e) => onChange(e.target.value)}
        autoComplete="off"
        {...aria}
      />
    );
  }
  return (
    <div className="grid grid-cols-1 gap-1.5">
      <Label htmlFor={id} className="break-all">
        {f.label} {f.required && <Required />}
      </Label>
      {control}
      {help}
    </div>
  );
}

function hintOf(f: Field): string | undefined {
  const range = (lo?: number, hi?: number) =>
    lo !== undefined && hi !== undefined
      ? ` from ${lo} to ${hi}`
      : lo !== undefined
        ? `, ${lo} or more`
        : hi !== undefined
          ? `, ${hi} or less`
          : "";
  switch (f.kind) {
    case "number":
      return `A number${range(f.minimum, f.maximum)}.`;
    case "integer":
      return `A whole number${range(f.minimum, f.maximum)}.`;
    case "array": {
      const of = f.itemOptions ? `one of ${f.itemOptions.join(", ")}` : `${f.itemKind ?? "string"}s`;
      return `A list of ${of}: comma-separated, or one per line.`;
    }
    default:
      return undefined;
  }
}
