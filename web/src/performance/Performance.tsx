import { useQuery } from "@tanstack/react-query";
import { useState } from "react";
import { api, unwrap } from "../api/client";
import { elementsOf, type FlowDocument } from "../canvas/document";
import { elementLabel } from "../canvas/graph";
import type { VersionRow } from "../flows/types";

export interface FlowFigures {
  profilesInFlow?: number;
  profilesExited?: number;
  activeProfiles?: number;
  goalPerformers?: number;
  goalValue?: number;
  messagesSent?: number;
  trafficCost?: number;
  refusedEntries?: Record<string, number>;
}

export interface ElementFigures {
  totalEngagements?: number;
  uniqueEngagements?: number;
  messagesSent?: number;
}

export interface PerformanceData {
  flow: FlowFigures;
  elements: Record<string, ElementFigures>;
}

// The API's words (DESIGN.md, "Performance names"), as the guide shows them.
const HIGHLIGHTS: Array<[keyof FlowFigures, string]> = [
  ["profilesInFlow", "Profiles in flow"],
  ["activeProfiles", "Active profiles"],
  ["profilesExited", "Profiles exited"],
  ["goalPerformers", "Goal performers"],
  ["goalValue", "Goal value"],
  ["messagesSent", "Messages sent"],
  ["trafficCost", "Traffic cost"],
];

export function usePerformance(flowId: number, version: string, enabled = true) {
  return useQuery({
    queryKey: ["performance", flowId, version],
    enabled,
    refetchInterval: 5_000,
    queryFn: () =>
      unwrap(
        api.GET("/api/v1/flows/{flow_id}/performance", {
          params: { path: { flow_id: flowId }, query: { version } },
        }),
      ) as unknown as Promise<PerformanceData>,
  });
}

/** "View flow performance": the flow highlights and the per-element table. */
export function Performance({ flowId, doc, versions }: { flowId: number; doc: FlowDocument; versions: VersionRow[] }) {
  const [version, setVersion] = useState("all");
  const figures = usePerformance(flowId, version);
  const data = figures.data;
  const refused = Object.entries(data?.flow.refusedEntries ?? {});
  return (
    <section aria-labelledby="performance-title">
      <h2 id="performance-title">Flow performance</h2>
      <label className="field">
        Version
        <select value={version} onChange={(e) => setVersion(e.target.value)}>
          <option value="all">All versions</option>
          {versions.map((v) => (
            <option key={v.version} value={String(v.version)}>
              Version {v.version}
            </option>
          ))}
        </select>
      </label>
      {figures.isError && <p role="alert">{figures.error.message}</p>}
      {data && (
        <>
          <dl className="highlights" aria-label="Flow highlights">
            {HIGHLIGHTS.map(([key, label]) => (
              <div key={key}>
                <dt>{label}</dt>
                <dd>{String(data.flow[key] ?? 0)}</dd>
              </div>
            ))}
            <div>
              <dt>Refused entries</dt>
              <dd>{refused.length ? refused.map(([why, n]) => `${why}: ${n}`).join(", ") : "0"}</dd>
            </div>
          </dl>
          <table aria-label="Element performance">
            <thead>
              <tr>
                <th scope="col">Element</th>
                <th scope="col">Total engagements</th>
                <th scope="col">Unique engagements</th>
                <th scope="col">Messages sent</th>
              </tr>
            </thead>
            <tbody>
              {elementsOf(doc)
                .filter((e) => e.type !== "exit")
                .map((e) => {
                  const f = data.elements[e.id] ?? {};
                  return (
                    <tr key={e.id}>
                      <th scope="row">{elementLabel(e)}</th>
                      <td>{f.totalEngagements ?? 0}</td>
                      <td>{f.uniqueEngagements ?? 0}</td>
                      <td>{f.messagesSent ?? 0}</td>
                    </tr>
                  );
                })}
            </tbody>
          </table>
        </>
      )}
    </section>
  );
}
