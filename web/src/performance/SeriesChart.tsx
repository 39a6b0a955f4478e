// The flow figures over time as a line chart (uPlot: a small, fast time-series chart,
// ~20 KB gzipped, where recharts or echarts would add 100 KB or more), with the same
// numbers in a table for screen readers and keyboard users.
import { useEffect, useRef } from "react";
import uPlot from "uplot";
import "uplot/dist/uPlot.min.css";

export interface SeriesPoint {
  at: string;
  profilesInFlow: number;
  messagesSent: number;
  goalPerformers: number;
  activeProfiles: number;
  profilesExited: number;
  [figure: string]: number | string;
}

export const SERIES_LINES: Array<[keyof SeriesPoint & string, string, string]> = [
  ["profilesInFlow", "Profiles in flow", "#2453c8"],
  ["messagesSent", "Messages sent", "#1f8a4c"],
  ["goalPerformers", "Goal performers", "#b3261e"],
];

/** The series as uPlot's columns: x in seconds, one array per line. */
export function columns(points: SeriesPoint[]): uPlot.AlignedData {
  return [
    points.map((p) => Date.parse(p.at) / 1000),
    ...SERIES_LINES.map(([key]) => points.map((p) => Number(p[key] ?? 0))),
  ];
}

export function SeriesChart({ points, by }: { points: SeriesPoint[]; by: string }) {
  const box = useRef<HTMLDivElement>(null);
  useEffect(() => {
    if (!box.current) return undefined;
    // as wide as the panel it is in
    const width = Math.max(260, (box.current.parentElement?.clientWidth ?? 560) - 4);
    const chart = new uPlot(
      {
        width,
        height: 220,
        series: [{}, ...SERIES_LINES.map(([, label, stroke]) => ({ label, stroke, width: 2 }))],
        axes: [{}, { size: 50 }],
        legend: { show: true },
      },
      columns(points),
      box.current,
    );
    return () => chart.destroy();
  }, [points]);
  const label = `Flow figures by ${by}`;
  return (
    <figure className="series" aria-label={label}>
      <div ref={box} role="img" aria-label={`${label}: a line chart`} />
      <table className="visually-hidden" aria-label={label}>
        <thead>
          <tr>
            <th scope="col">{by === "hour" ? "Hour" : "Day"}</th>
            {SERIES_LINES.map(([key, name]) => (
              <th key={key} scope="col">
                {name}
              </th>
            ))}
          </tr>
        </thead>
        <tbody>
          {points.map((p) => (
            <tr key={p.at}>
              <th scope="row">{by === "hour" ? p.at.slice(0, 16).replace("T", " ") : p.at.slice(0, 10)}</th>
              {SERIES_LINES.map(([key]) => (
                <td key={key}>{String(p[key] ?? 0)}</td>
              ))}
            </tr>
          ))}
        </tbody>
      </table>
    </figure>
  );
}
