// The typed client of the public API: paths and parameters come from schema.d.ts, generated
// from /api/v1/openapi.json (`make web-api`), so a contract change breaks the build.

import createClient, { type Middleware } from "openapi-fetch";
import type { paths } from "./schema";
import { useSession } from "../auth/session";

export class ApiError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
    readonly details: Array<{ field?: string; message?: string }> = [],
  ) {
    super(message);
  }
}

const auth: Middleware = {
  onRequest({ request }) {
    const key = useSession.getState().key;
    if (key) request.headers.set("Authorization", `Bearer ${key}`);
    return request;
  },
};

export const api = createClient<paths>({ baseUrl: "" });
api.use(auth);

interface Envelope {
  error?: { code?: string; message?: string; details?: ApiError["details"] };
}

/**
 * A file the API answers (a report, an export), fetched with the key (a link cannot carry
 * it) and saved under `filename`.
 */
export async function saveFile(path: string, filename: string): Promise<void> {
  const key = useSession.getState().key;
  const answer = await fetch(path, { headers: key ? { Authorization: `Bearer ${key}` } : {} });
  if (!answer.ok) throw new ApiError(answer.status, "error", `the file is not there (${answer.status})`);
  const url = URL.createObjectURL(await answer.blob());
  const link = document.createElement("a");
  link.href = url;
  link.download = filename;
  document.body.appendChild(link);
  link.click();
  link.remove();
  URL.revokeObjectURL(url);
}

/**
 * The data of a call, or an ApiError with the API's own message. Many answers are typed
 * `{[k: string]: unknown}` by the server (it returns dicts); callers then name the shape.
 */
export async function unwrap<T>(
  call: Promise<{ data?: T; error?: unknown; response: Response }>,
): Promise<T> {
  const { data, error, response } = await call;
  if (error !== undefined || !response.ok) {
    const e = (error as Envelope | undefined)?.error;
    if (response.status === 401) useSession.getState().expire();
    throw new ApiError(response.status, e?.code ?? "error", e?.message ?? response.statusText, e?.details);
  }
  return data as T;
}
