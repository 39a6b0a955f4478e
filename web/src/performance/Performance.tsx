import { useQuery } from "@tanstack/react-query";
import { useState } from "react";
import { api, unwrap } from "../api/client";
import { elementsOf, type FlowDocument } from "../canvas/document";
import { CHANNEL_NAMES } from "../canvas/catalogue";
import { elementLabel } from "../canvas/graph";
import type { VersionRow } from "../flows/types";
import { SeriesChart, type SeriesPoint } from "./SeriesChart";

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

export interface ChannelFigures {
  sent: number;
  delivered: number;
  failed: number;
  seen: number;
  clicked: number;
  parts: number;
  cost: number;
}

export interface PerformanceData {
  flow: FlowFigures;
  elements: Record<string, ElementFigures>;
  channels?: Record<string, ChannelFigures>;
  series?: SeriesPoint[];
  timezone?: string;
}

const CHANNEL_COLUMNS: Array<[keyof ChannelFigures, string]> = [
  ["sent", "Sent"],
  ["delivered", "Delivered"],
  ["failed", "Failed"],
  ["seen", "Seen"],
  ["clicked", "Clicked"],
  ["parts", "Parts"],
  ["cost", "Cost"],
];

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

export function usePerformance(flowId: number, version: string, enabled = true, by?: "hour" | "day") {
  return useQuery({
    queryKey: ["performance", flowId, version, by ?? null],
    enabled,
    refetchInterval: 5_000,
    queryFn: () =>
      unwrap(
        api.GET("/api/v1/flows/{flow_id}/performance", {
          params: { path: { flow_id: flowId }, query: by ? { version, by } : { version } },
        }),
      ) as unknown as Promise<PerformanceData>,
  });
}

/** "View flow performance": the flow highlights and the per-element table. */
export function Performance({ flowId, doc, versions }: { flowId: number; doc: FlowDocument; versions: VersionRow[] }) {
  const [version, setVersion] = useState("all");
  const [by, setBy] = useState<"hour" | "day">("day");
  const figures = usePerformance(flowId, version, true, by);
  const data = figures.data;
  const refused = Object.entries(data?.flow.refusedEntries ?? {});
  const channels = Object.entries(data?.channels ?? {});
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
          <div className="series-head">
            <h3>Over time</h3>
            <label className="field">
              Show by
              <select value={by} onChange={(e) => setBy(e.target.value as "hour" | "day")}>
                <option value="day">Day</option>
                <option value="hour">Hour</option>
              </select>
            </label>
            {data.timezone && <span className="muted">{data.timezone}</span>}
          </div>
          {data.series && <SeriesChart points={data.series} by={by} />}
          <div className="scroll-x">
            <table aria-label="Channel performance">
              <thead>
                <tr>
                  <th scope="col">Channel</th>
                  {channels.map(([channel]) => (
                    <th key={channel} scope="col">
                      {CHANNEL_NAMES[channel] ?? channel}
                    </th>
                  ))}
                </tr>
              </thead>
              <tbody>
                {CHANNEL_COLUMNS.map(([key, label]) => (
                  <tr key={key}>
                    <th scope="row">{label}</th>
                    {channels.map(([channel, f]) => (
                      <td key={channel}>{key === "cost" ? f.cost.toFixed(4) : f[key]}</td>
                    ))}
                  </tr>
                ))}
              </tbody>
            </table>
            {channels.length === 0 && <p className="muted">No messages yet</p>}
          </div>
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
