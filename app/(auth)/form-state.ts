/** What the sign-in and setup actions answer to their forms: an error, per-field errors, and the values to keep. */
export type AuthFormState = {
  error?: string;
  fieldErrors?: Partial<Record<string, string[]>>;
  values?: Record<string, string>;
};

export type AuthFormAction = (state: AuthFormState, formData: FormData) => Promise<AuthFormState>;

/** A text field of a submitted form; absent or a file is "". */
export function textField(formData: FormData, name: string): string {
  const value = formData.get(name);
  return typeof value === "string" ? value : "";
}
