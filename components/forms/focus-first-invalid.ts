import { type RefObject, useEffect } from "react";

/**
 * After a failed submit, moves focus to the form's first field marked invalid (its error is tied
 * to it with aria-describedby), once the error has rendered.
 */
export function useFocusFirstInvalid(form: RefObject<HTMLFormElement | null>, error: unknown) {
  useEffect(() => {
    if (error) form.current?.querySelector<HTMLElement>('[aria-invalid="true"]')?.focus();
  }, [form, error]);
}
