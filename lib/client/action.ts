import type { ActionResult } from "@/lib/actions/define-action";
import { ApiError } from "./api";

/** A server action's result as a query or mutation wants it: its data, or a thrown ApiError. */
export async function unwrap<T>(result: Promise<ActionResult<T>>): Promise<T> {
  const answer = await result;
  if (answer.ok) return answer.data;
  throw new ApiError(answer.error.message, answer.error.code, answer.error.details);
}
