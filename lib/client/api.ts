type ErrorBody = { error?: { message?: string } };

/**
 * The REST API as the signed-in user (the session cookie authenticates): the `data` of a success,
 * or an Error carrying the API's own message.
 */
export async function api<T>(method: "GET" | "POST", path: string, body?: unknown, signal?: AbortSignal): Promise<T> {
  const res = await fetch(path, {
    method,
    credentials: "same-origin",
    headers: { accept: "application/json", ...(body === undefined ? {} : { "content-type": "application/json" }) },
    body: body === undefined ? undefined : JSON.stringify(body),
    signal,
  });
  const json = (await res.json().catch(() => ({}))) as { data?: T } & ErrorBody;
  if (!res.ok || json.data === undefined)
    throw new Error(json.error?.message ?? `${method} ${path} failed (${res.status}).`);
  return json.data;
}
