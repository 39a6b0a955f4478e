import { describe, expect, it } from "vitest";
import { columns, type SeriesPoint } from "./SeriesChart";

const point = (at: string, profilesInFlow: number, messagesSent: number): SeriesPoint => ({
  at,
  profilesInFlow,
  messagesSent,
  goalPerformers: 0,
  activeProfiles: 0,
  profilesExited: 0,
});

describe("the series as chart columns", () => {
  it("puts each point's instant in seconds first, then one column a line", () => {
    const data = columns([point("2026-11-01T00:00:00-04:00", 2, 3), point("2026-11-02T00:00:00-05:00", 1, 0)]);
    expect(data[0]).toEqual([Date.parse("2026-11-01T04:00:00Z") / 1000, Date.parse("2026-11-02T05:00:00Z") / 1000]);
    expect(data[1]).toEqual([2, 1]); // profiles in flow
    expect(data[2]).toEqual([3, 0]); // messages sent
    expect(data[3]).toEqual([0, 0]); // goal performers
  });
});
