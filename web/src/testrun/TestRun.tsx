// The Test run panel: the open flow runs in a throwaway system on a virtual clock
// (POST /flows/{id}/test-runs), with synthetic people or a CSV of them, and optional events;
// the counts go on the canvas's nodes (FlowEditor) and the sample messages are listed here.

import { useState, type FormEvent } from "react";
import { api, ApiError, unwrap } from "../api/client";
import { CHANNEL_NAMES } from "../canvas/catalogue";
import { elementsOf, type FlowDocument } from "../canvas/document";
import { elementLabel } from "../canvas/graph";
import { profilesFromCsv, type Profile } from "./csv";

export interface TestRunSample {
  element: string;
  channel: string;
  to: string;
  from?: string;
  text?: string;
  subject?: string;
  say?: string;
}

export interface TestRunResult {
  flow: {
    profilesInFlow?: number;
    profilesExited?: number;
    activeProfiles?: number;
    messagesSent?: number;
    goalPerformers?: number;
  };
  elements: Record<string, { totalEngagements?: number; messagesSent?: number }>;
  samples: TestRunSample[];
  people: number;
  days: number;
  notes: string[];
}

interface Props {
  flowId: number;
  version: number;
  doc: FlowDocument;
  /** Saves the draft first; false: it could not be saved. */
  beforeRun: () => Promise<boolean>;
  result: TestRunResult | null;
  onResult: (result: TestRunResult | null) => void;
  /** A validation problem as the canvas words it ("Reminder SMS — Sender: …"). */
  describe: (problem: { element?: string | null; field: string; message: string }) => string;
}

type Body = {
  version: number;
  days: number;
  people?: number;
  profiles?: Profile[];
  events?: Array<{ person: string; name: string; at?: string; properties?: Record<string, unknown> }>;
};

function parseEvents(text: string): NonNullable<Body["events"]> {
  return text
    .split("\n")
    .map((line, i) => [line.trim(), i + 1] as const)
    .filter(([line]) => line && !line.startsWith("#"))
    .map(([line, number]) => {
      let value: unknown;
      try {
        value = JSON.parse(line);
      } catch {
        throw new Error(`Events line ${number}: not JSON`);
      }
      if (!value || typeof value !== "object" || Array.isArray(value)) throw new Error(`Events line ${number}: one JSON object a line`);
      return value as NonNullable<Body["events"]>[number];
    });
}

export function TestRun({ flowId, version, doc, beforeRun, result, onResult, describe }: Props) {
  const [people, setPeople] = useState("20");
  const [days, setDays] = useState("2");
  const [events, setEvents] = useState("");
  const [file, setFile] = useState<{ name: string; profiles: Profile[] } | null>(null);
  const [error, setError] = useState<{ message: string; details: string[] } | null>(null);
  const [running, setRunning] = useState(false);
  const names = new Map(elementsOf(doc).map((e) => [e.id, elementLabel(e)]));

  const readFile = async (input: HTMLInputElement) => {
    const chosen = input.files?.[0];
    if (!chosen) {
      setFile(null);
      return;
    }
    try {
      const profiles = profilesFromCsv(await chosen.text());
      setFile({ name: chosen.name, profiles });
      setError(null);
    } catch (e) {
      setFile(null);
      input.value = "";
      setError({ message: `${chosen.name}: ${e instanceof Error ? e.message : String(e)}`, details: [] });
    }
  };

  const run = async (e: FormEvent) => {
    e.preventDefault();
    setError(null);
    onResult(null);
    let body: Body;
    try {
      body = { version, days: Number(days) };
      if (file) body.profiles = file.profiles;
      else body.people = Number(people);
      const parsed = parseEvents(events);
      if (parsed.length) body.events = parsed;
    } catch (err) {
      setError({ message: err instanceof Error ? err.message : String(err), details: [] });
      return;
    }
    setRunning(true);
    try {
      if (!(await beforeRun())) return;
      const answer = (await unwrap(
        api.POST("/api/v1/flows/{flow_id}/test-runs", {
          params: { path: { flow_id: flowId } },
          body: body as never,
        }),
      )) as unknown as TestRunResult;
      onResult(answer);
    } catch (err) {
      if (err instanceof ApiError) {
        const details = err.details.map((d) =>
          describe({ element: (d as { element?: string }).element, field: d.field ?? "", message: d.message ?? "" }),
        );
        setError({ message: err.message, details });
      } else setError({ message: String(err), details: [] });
    } finally {
      setRunning(false);
    }
  };

  const flow = result?.flow;
  return (
    <div className="test-run">
      <h2>Test run</h2>
      <p className="hint">
        Runs version {version} on a virtual clock in a throwaway copy of Tidings: nobody real enters and nothing is
        sent. Counts appear on the nodes.
      </p>
      <form onSubmit={(e) => void run(e)} className="test-run-form">
        <div className="field">
          <label htmlFor="test-run-people">People</label>
          <input
            id="test-run-people"
            type="number"
            min={1}
            max={1000}
            required={!file}
            disabled={!!file}
            value={people}
            onChange={(e) => setPeople(e.target.value)}
          />
        </div>
        <div className="field">
          <label htmlFor="test-run-days">Days</label>
          <input id="test-run-days" type="number" min={1} max={90} required value={days} onChange={(e) => setDays(e.target.value)} />
        </div>
        <div className="field">
          <label htmlFor="test-run-file">Upload people (CSV)</label>
          <input id="test-run-file" type="file" accept=".csv,text/csv" onChange={(e) => void readFile(e.currentTarget)} />
          {file && (
            <span>
              {file.profiles.length} {file.profiles.length === 1 ? "person" : "people"} from {file.name}{" "}
              <button type="button" className="link" onClick={() => setFile(null)}>
                Use synthetic people
              </button>
            </span>
          )}
        </div>
        <div className="field">
          <label htmlFor="test-run-events">Events (optional, JSON lines)</label>
          <textarea
            id="test-run-events"
            rows={3}
            placeholder='{"person": "p1", "name": "CartAbandoned", "at": "PT2H", "properties": {"cartValue": 60}}'
            value={events}
            onChange={(e) => setEvents(e.target.value)}
          />
        </div>
        <button type="submit" className="primary" disabled={running}>
          Run
        </button>
      </form>
      {running && <p role="status">Running the test…</p>}
      {error && (
        <div role="alert" className="problem">
          <p>{error.message}</p>
          {error.details.length > 0 && (
            <ul>
              {error.details.map((d, i) => (
                <li key={i}>{d}</li>
              ))}
            </ul>
          )}
        </div>
      )}
      {result && flow && (
        <section aria-label="Test run results">
          <p role="status">
            {result.people} people over {result.days} {result.days === 1 ? "day" : "days"}: {flow.profilesInFlow ?? 0} entered,{" "}
            {flow.profilesExited ?? 0} exited, {flow.messagesSent ?? 0} messages sent
            {flow.goalPerformers ? `, ${flow.goalPerformers} reached the goal` : ""}.
          </p>
          <h3>Sample messages</h3>
          {result.samples.length === 0 ? (
            <p>No messages were sent.</p>
          ) : (
            <ul aria-label="Sample messages" className="samples">
              {result.samples.map((s, i) => (
                <li key={i}>
                  <strong>{names.get(s.element) ?? s.element}</strong> ({CHANNEL_NAMES[s.channel] ?? s.channel} to {s.to}):{" "}
                  {s.subject ? `${s.subject}` : (s.text ?? s.say ?? "")}
                </li>
              ))}
            </ul>
          )}
          {result.notes.map((n, i) => (
            <p key={i} className="hint">
              Note: {n}
            </p>
          ))}
        </section>
      )}
    </div>
  );
}
