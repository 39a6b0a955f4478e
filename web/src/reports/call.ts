// Calls of the API paths the pages of reports, MEP and imports use, through the typed
// client's middleware (the key) and its error envelope.
import { api, unwrap } from "../api/client";

type Method = "GET" | "POST" | "PATCH" | "DELETE";

/** `method path` under /api/v1 with an optional JSON body; the answer's JSON. */
export function call<T>(method: Method, path: string, body?: unknown): Promise<T> {
  const client = api as unknown as Record<
    Method,
    (url: string, init: { body?: unknown }) => Promise<{ data?: T; error?: unknown; response: Response }>
  >;
  return unwrap(client[method](`/api/v1${path}`, body === undefined ? {} : { body }));
}
