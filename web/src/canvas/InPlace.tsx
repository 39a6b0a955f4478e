import { useState } from "react";
import { api, unwrap } from "../api/client";

/** A launched version whose goal, schedule or real-time audience change in place
 * (PATCH /flows/{id}/versions/{n}): `save` answers what happened, in words. */
export interface InPlace {
  version: number;
  save: () => Promise<string>;
}

/** The sources of a predefined audience: what a launched real-time audience changes in place. */
export const AUDIENCE_SOURCES = ["segments", "tags", "people", "companies"];

/** PATCH a launched version with `changes`; answers "Saved to version n." or why not. */
export async function patchVersion(flowId: number, version: number, changes: Record<string, unknown>): Promise<string> {
  try {
    await unwrap(
      api.PATCH("/api/v1/flows/{flow_id}/versions/{number}", {
        params: { path: { flow_id: flowId, number: version } },
        body: changes as never,
      }),
    );
    return `Saved to version ${version}.`;
  } catch (e) {
    return `Not saved: ${e instanceof Error ? e.message : String(e)}`;
  }
}

/** The button that saves an in-place change, and what came of it as a status. */
export function SaveInPlace({ inPlace, what }: { inPlace: InPlace; what: string }) {
  const [saving, setSaving] = useState(false);
  const [said, setSaid] = useState<string | null>(null);
  return (
    <>
      <button
        type="button"
        className="primary"
        disabled={saving}
        onClick={async () => {
          setSaving(true);
          setSaid(await inPlace.save());
          setSaving(false);
        }}
      >
        Save {what} to version {inPlace.version}
      </button>
      {said && <p role="status">{said}</p>}
    </>
  );
}
