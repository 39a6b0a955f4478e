import { useMutation, useQuery, useQueryClient } from "@tanstack/react-query";
import { api, unwrap } from "../api/client";
import { navigate } from "../app/router";
import { when, type Flow, type VersionRow } from "../flows/types";

/** "View all versions": the history panel; a new draft version, duplicate, stop. */
export function Versions({ flow }: { flow: Flow }) {
  const queries = useQueryClient();
  const path = { flow_id: flow.id };
  const versions = useQuery({
    queryKey: ["versions", flow.id],
    queryFn: () =>
      unwrap(api.GET("/api/v1/flows/{flow_id}/versions", { params: { path } })) as unknown as Promise<
        VersionRow[] | { items: VersionRow[] }
      >,
  });
  const refresh = () => queries.invalidateQueries();
  const create = useMutation({
    mutationFn: () => unwrap(api.POST("/api/v1/flows/{flow_id}/versions", { params: { path } })),
    onSuccess: refresh,
  });
  const stop = useMutation({
    mutationFn: (number: number) =>
      unwrap(api.POST("/api/v1/flows/{flow_id}/versions/{number}/stop", { params: { path: { ...path, number } } })),
    onSuccess: refresh,
  });
  const duplicate = useMutation({
    mutationFn: (number: number) =>
      unwrap(
        api.POST("/api/v1/flows/{flow_id}/versions/{number}/duplicate", { params: { path: { ...path, number } } }),
      ) as unknown as Promise<{ id: number }>,
    onSuccess: (copy) => navigate(`/flows/${copy.id}`),
  });
  const data = versions.data;
  const rows = Array.isArray(data) ? data : (data?.items ?? []);
  const error = versions.error ?? create.error ?? stop.error ?? duplicate.error;
  const hasDraft = rows.some((v) => v.status === "draft");
  return (
    <section aria-labelledby="versions-title">
      <h2 id="versions-title">All versions</h2>
      {error && <p role="alert">{error.message}</p>}
      <table aria-label="Versions">
        <thead>
          <tr>
            <th scope="col">Version</th>
            <th scope="col">Status</th>
            <th scope="col">Dates</th>
            <th scope="col">
              <span className="visually-hidden">Actions</span>
            </th>
          </tr>
        </thead>
        <tbody>
          {rows.map((v) => (
            <tr key={v.version}>
              <th scope="row">{v.version}</th>
              <td>{v.status}</td>
              <td className="dates">
                Created {when(v.createdAt)}
                {v.launchedAt && <><br />Launched {when(v.launchedAt)}</>}
                {v.finishedAt && <><br />Finished {when(v.finishedAt)}</>}
              </td>
              <td className="row-actions">
                <button type="button" onClick={() => duplicate.mutate(v.version)}>
                  Duplicate version {v.version}
                </button>
                {["active", "scheduled", "paused"].includes(v.status) && (
                  <button type="button" onClick={() => stop.mutate(v.version)}>
                    Stop version {v.version}
                  </button>
                )}
              </td>
            </tr>
          ))}
        </tbody>
      </table>
      {!hasDraft && (
        <button type="button" className="primary" onClick={() => create.mutate()} disabled={create.isPending}>
          Create new version
        </button>
      )}
    </section>
  );
}
