import type { FlowDocument } from "../canvas/document";

export const STATUSES = [
  "draft", "scheduled", "active", "paused", "finishing", "finished", "canceled", "failed",
] as const;

export interface VersionRow {
  version: number;
  status: string;
  createdAt: string;
  launchedAt: string | null;
  finishedAt: string | null;
}

export interface FlowRow {
  id: number;
  name: string;
  status: string;
  createdAt: string;
  updatedAt: string;
  version: number;
  versionStatus: string;
}

export interface Flow extends FlowRow {
  document: FlowDocument;
  activeVersion: number | null;
  versions: VersionRow[];
}

export interface Page<T> {
  items: T[];
  limit: number;
  offset: number;
  hasMore: boolean;
}

export interface Template {
  name: string;
  title: string;
  description: string;
  predefined: boolean;
}

/** "2026-01-05T00:00:00Z" -> "5 Jan 2026, 00:00" (UTC, as the server keeps it). */
export function when(instant: string | null | undefined): string {
  if (!instant) return "—";
  const d = new Date(instant);
  if (Number.isNaN(d.getTime())) return instant;
  return d.toLocaleString("en-GB", {
    day: "numeric", month: "short", year: "numeric", hour: "2-digit", minute: "2-digit", timeZone: "UTC",
  });
}
