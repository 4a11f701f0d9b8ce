/** The one error type of Berth's core; its code alone decides the HTTP status. */
export const ERROR_STATUS = {
  bad_request: 400,
  unauthorized: 401,
  forbidden: 403,
  origin_not_allowed: 403,
  not_found: 404,
  method_not_allowed: 405,
  not_acceptable: 406,
  conflict: 409,
  connection_not_running: 409,
  payload_too_large: 413,
  unsupported_media_type: 415,
  dry_run_failed: 422,
  too_many_requests: 429,
  internal_error: 500,
  sandbox_provider_failed: 502,
  unavailable: 503,
} as const;

export type ErrorCode = keyof typeof ERROR_STATUS;

export type FieldError = { path: string; message: string };

export class BerthError extends Error {
  constructor(
    readonly code: ErrorCode,
    message: string,
    readonly details?: unknown,
    /** For 429 and the like: when trying again makes sense (the Retry-After header). */
    readonly retryAfterSeconds?: number,
  ) {
    super(message);
    this.name = "BerthError";
  }

  get status(): number {
    return ERROR_STATUS[this.code];
  }
}

/** By name as well as class: the same error may come from Next's bundled copy of this module. */
export function isBerthError(err: unknown): err is BerthError {
  return err instanceof BerthError || (err instanceof Error && err.name === "BerthError" && "code" in err);
}

export function errorBody(code: ErrorCode, message: string, details?: unknown) {
  return { error: details === undefined ? { code, message } : { code, message, details } };
}

/**
 * Maps anything thrown to the contract's error shape. Unknown errors become a 500 with a
 * request id; their cause goes to `logError`, never to the client.
 */
export function toErrorResponse(err: unknown, logError: (err: unknown, requestId: string) => void): Response {
  if (isBerthError(err)) {
    const headers = err.retryAfterSeconds ? { "retry-after": String(err.retryAfterSeconds) } : undefined;
    return Response.json(errorBody(err.code, err.message, err.details), { status: ERROR_STATUS[err.code], headers });
  }
  const requestId = crypto.randomUUID();
  logError(err, requestId);
  return Response.json(errorBody("internal_error", "Something went wrong on our side.", { request_id: requestId }), {
    status: 500,
  });
}

/** zod issues → the contract's `details`: one `{path, message}` per bad field. */
export function fieldErrors(
  issues: readonly { path: readonly PropertyKey[]; message: string; code?: string; keys?: string[] }[],
  prefix?: string,
): FieldError[] {
  return issues.flatMap((issue) => {
    const base = [prefix, ...issue.path.map(String)].filter(Boolean).join(".");
    if (issue.code === "unrecognized_keys" && issue.keys) {
      return issue.keys.map((k) => ({ path: base ? `${base}.${k}` : k, message: "Unknown field." }));
    }
    return [{ path: base, message: issue.message }];
  });
}
