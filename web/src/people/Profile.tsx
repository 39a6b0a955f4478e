import { useQuery } from "@tanstack/react-query";
import { api, unwrap } from "../api/client";
import { follow } from "../app/router";
import { when, type Page } from "../flows/types";
import { fullName, type Person } from "./People";

interface PersonEvent {
  id: number;
  name: string;
  properties: Record<string, unknown>;
  time: string;
}

interface Journey {
  participation: number;
  flow: number;
  flowName: string;
  version: number;
  status: string;
  element: string | null;
  enteredAt: string;
  exitedAt: string | null;
  exitReason: string | null;
  steps: Array<{ at: string; element: string | null; what: string; why: string | null }>;
}

const STANDARD = ["externalId", "firstName", "lastName", "gender", "birthDate", "city", "country", "timezone", "preferredLanguage"];

/** A profile: attributes, tags, events (newest first) and journeys with the reason for each
 * decision (the API's journey trace). */
export function Profile({ personId }: { personId: number }) {
  const path = { person_id: personId };
  const person = useQuery({
    queryKey: ["person", personId],
    queryFn: () => unwrap(api.GET("/api/v1/people/{person_id}", { params: { path } })) as unknown as Promise<Person>,
  });
  const events = useQuery({
    queryKey: ["person-events", personId],
    queryFn: () =>
      unwrap(api.GET("/api/v1/people/{person_id}/events", { params: { path } })) as unknown as Promise<Page<PersonEvent>>,
  });
  const journeys = useQuery({
    queryKey: ["person-journeys", personId],
    queryFn: () =>
      unwrap(api.GET("/api/v1/people/{person_id}/journeys", { params: { path } })) as unknown as Promise<{
        journeys: Journey[];
      }>,
  });
  const p = person.data;
  const error = person.error ?? events.error ?? journeys.error;
  return (
    <main className="page">
      <a href="/people" onClick={follow} className="back">
        ← People
      </a>
      <h1>{p ? fullName(p) : "Person"}</h1>
      {error && <p role="alert">{error.message}</p>}
      {p && (
        <section aria-labelledby="attributes-title">
          <h2 id="attributes-title">Attributes</h2>
          <dl className="summary">
            {STANDARD.filter((k) => p[k] !== null && p[k] !== undefined).map((k) => (
              <div key={k}>
                <dt>{k}</dt>
                <dd>{String(p[k])}</dd>
              </div>
            ))}
            <div>
              <dt>phones</dt>
              <dd>{p.phones.join(", ") || "—"}</dd>
            </div>
            <div>
              <dt>emails</dt>
              <dd>{p.emails.join(", ") || "—"}</dd>
            </div>
            <div>
              <dt>tags</dt>
              <dd>{p.tags.join(", ") || "—"}</dd>
            </div>
            {Object.entries(p.attributes ?? {}).map(([k, v]) => (
              <div key={k}>
                <dt>{k}</dt>
                <dd>{JSON.stringify(v)}</dd>
              </div>
            ))}
          </dl>
        </section>
      )}
      <section aria-labelledby="journeys-title">
        <h2 id="journeys-title">Journeys</h2>
        {journeys.data?.journeys.length === 0 && <p>Not in any flow yet.</p>}
        {journeys.data?.journeys.map((j) => (
          <article key={j.participation} className="journey" aria-label={`Journey in ${j.flowName}`}>
            <h3>
              <a href={`/flows/${j.flow}`} onClick={follow}>
                {j.flowName}
              </a>{" "}
              <span className="muted">
                version {j.version} · {j.status}
                {j.exitReason ? ` (${j.exitReason})` : ""}
              </span>
            </h3>
            <ol>
              {j.steps.map((s, i) => (
                <li key={i}>
                  {when(s.at)} — {s.element ?? "entry"}: {s.what}
                  {s.why ? ` — ${s.why}` : ""}
                </li>
              ))}
            </ol>
          </article>
        ))}
      </section>
      <section aria-labelledby="events-title">
        <h2 id="events-title">Events</h2>
        <table aria-label="Events">
          <thead>
            <tr>
              <th scope="col">Time</th>
              <th scope="col">Event</th>
              <th scope="col">Properties</th>
            </tr>
          </thead>
          <tbody>
            {events.data?.items.map((e) => (
              <tr key={e.id}>
                <td>{when(e.time)}</td>
                <td>{e.name}</td>
                <td>
                  <code>{JSON.stringify(e.properties)}</code>
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      </section>
    </main>
  );
}
