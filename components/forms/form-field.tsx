import type * as React from "react";
import { Input } from "@/components/ui/input";
import { Label } from "@/components/ui/label";
import { Textarea } from "@/components/ui/textarea";

type FieldProps = {
  id: string;
  label: string;
  errors?: string[];
  /** Help under the field, read out with it. */
  hint?: React.ReactNode;
  required?: boolean;
};

/**
 * A labelled control (required ones marked) with its help and first validation error, both tied
 * to it: `control` gets the attributes that tie them.
 */
function Field({
  id,
  label,
  errors,
  hint,
  required,
  control,
}: FieldProps & { control: (a11y: React.AriaAttributes & { id: string; required?: boolean }) => React.ReactNode }) {
  const error = errors?.[0];
  const described = [hint && `${id}-hint`, error && `${id}-error`].filter(Boolean).join(" ");
  return (
    <div className="grid gap-2">
      <Label htmlFor={id}>
        {label}
        {required && (
          <span className="text-destructive" aria-hidden>
            *
          </span>
        )}
      </Label>
      {control({ id, required, "aria-invalid": error ? true : undefined, "aria-describedby": described || undefined })}
      {hint && (
        <p id={`${id}-hint`} className="text-muted-foreground text-sm">
          {hint}
        </p>
      )}
      {error && (
        <p id={`${id}-error`} className="text-destructive text-sm">
          {error}
        </p>
      )}
    </div>
  );
}

export function FormField({
  id,
  label,
  errors,
  hint,
  required,
  ...props
}: FieldProps & Omit<React.ComponentProps<typeof Input>, "id">) {
  return <Field {...{ id, label, errors, hint, required }} control={(a11y) => <Input {...a11y} {...props} />} />;
}

export function TextareaField({
  id,
  label,
  errors,
  hint,
  required,
  ...props
}: FieldProps & Omit<React.ComponentProps<typeof Textarea>, "id">) {
  return <Field {...{ id, label, errors, hint, required }} control={(a11y) => <Textarea {...a11y} {...props} />} />;
}
