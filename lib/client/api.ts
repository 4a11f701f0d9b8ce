type ErrorBody = { error?: { code?: string; message?: string; details?: { path: string; message: string }[] } };

/** An error answer of the API: its code, message and per-field details. */
export class ApiError extends Error {
  constructor(
    message: string,
    readonly code: string,
    readonly details: { path: string; message: string }[],
  ) {
    super(message);
    this.name = "ApiError";
  }
}

/**
 * The REST API as the signed-in user (the session cookie authenticates): the `data` of a success,
 * or an ApiError carrying the API's own code, message and details.
 */
export async function api<T>(
  method: "GET" | "POST" | "DELETE",
  path: string,
  body?: unknown,
  signal?: AbortSignal,
): Promise<T> {
  const res = await fetch(path, {
    method,
    credentials: "same-origin",
    headers: { accept: "application/json", ...(body === undefined ? {} : { "content-type": "application/json" }) },
    body: body === undefined ? undefined : JSON.stringify(body),
    signal,
  });
  const json = (await res.json().catch(() => ({}))) as { data?: T } & ErrorBody;
  if (res.ok && json.data !== undefined) return json.data;
  const error = json.error ?? {};
  throw new ApiError(
    error.message ?? `${method} ${path} failed (${res.status}).`,
    error.code ?? "",
    error.details ?? [],
  );
}
