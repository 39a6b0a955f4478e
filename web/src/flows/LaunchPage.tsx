import { useMutation, useQuery, useQueryClient } from "@tanstack/react-query";
import { api, unwrap } from "../api/client";
import { follow, navigate } from "../app/router";

interface LiftOff {
  flow: { id: number; name: string; version: number };
  entry: string;
  audienceSize: number | null;
  reentry: string;
  schedule: { start: string | null; end: string | null; note?: string; startsNow?: boolean };
  goal: { event?: string; where?: string; value?: string } | null;
  channels: Array<{ channel: string; from?: string | null }>;
  problems: Array<{ element?: string | null; field: string; message: string }>;
  canLaunch: boolean;
}

/** The lift-off page: what launching will do (POST launch?dryRun=true), then "Launch now". */
export function LaunchPage({ flowId }: { flowId: number }) {
  const queries = useQueryClient();
  const summary = useQuery({
    queryKey: ["lift-off", flowId],
    staleTime: 0,
    queryFn: () =>
      unwrap(
        api.POST("/api/v1/flows/{flow_id}/launch", {
          params: { path: { flow_id: flowId }, query: { dryRun: true } },
        }),
      ) as unknown as Promise<LiftOff>,
  });
  const launch = useMutation({
    mutationFn: () =>
      unwrap(api.POST("/api/v1/flows/{flow_id}/launch", { params: { path: { flow_id: flowId } } })),
    onSuccess: async () => {
      await queries.invalidateQueries();
      navigate(`/flows/${flowId}`);
    },
  });
  const s = summary.data;
  return (
    <main className="page liftoff">
      <a href={`/flows/${flowId}`} onClick={follow} className="back">
        ← Back to the canvas
      </a>
      <h1>Launch {s ? s.flow.name : ""}</h1>
      {summary.isError && <p role="alert">{summary.error.message}</p>}
      {launch.isError && <p role="alert">{launch.error.message}</p>}
      {s && (
        <>
          <dl className="summary">
            <dt>Who enters</dt>
            <dd>
              {s.entry}
              {s.audienceSize !== null ? ` (${s.audienceSize} people now)` : ""}
            </dd>
            <dt>Re-entry</dt>
            <dd>{s.reentry}</dd>
            <dt>Schedule</dt>
            <dd>
              {s.schedule.start ? `From ${s.schedule.start}` : "Starts now"}
              {s.schedule.end ? ` until ${s.schedule.end}` : ""}
              {s.schedule.note ? `; ${s.schedule.note}` : ""}
            </dd>
            <dt>Goal</dt>
            <dd>{s.goal?.event ? `${s.goal.event}${s.goal.where ? ` where ${s.goal.where}` : ""}` : "No goal"}</dd>
            <dt>Channels</dt>
            <dd>
              {s.channels.length
                ? s.channels.map((c) => `${c.channel.toUpperCase()}${c.from ? ` from ${c.from}` : ""}`).join(", ")
                : "None"}
            </dd>
          </dl>
          {s.problems.length > 0 && (
            <section aria-label="Problems">
              <h2>Fix these before launching</h2>
              <ul>
                {s.problems.map((p, i) => (
                  <li key={i}>
                    {p.element ? `${p.element} — ` : ""}
                    {p.field ? `${p.field}: ` : ""}
                    {p.message}
                  </li>
                ))}
              </ul>
            </section>
          )}
          <div className="actions">
            <button
              type="button"
              className="primary"
              disabled={!s.canLaunch || launch.isPending}
              onClick={() => launch.mutate()}
            >
              Launch now
            </button>
            <button type="button" onClick={() => navigate("/")}>
              Save as draft
            </button>
          </div>
        </>
      )}
    </main>
  );
}
