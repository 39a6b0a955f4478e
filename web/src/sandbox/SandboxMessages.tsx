import { useQuery } from "@tanstack/react-query";
import { useState } from "react";
import { api, unwrap } from "../api/client";
import { when, type Page } from "../flows/types";
import { Pager } from "../app/Pager";

interface Message {
  id: number | string;
  channel: string;
  to: string;
  from: string | null;
  text?: string | null;
  subject?: string | null;
  status: string;
  sentAt: string;
  flow: number | null;
  version: number | null;
  element: string | null;
  elementName?: string | null; // the element's name in its version, when it has one
  person: number | string | null;
}

const PAGE = 50;

/** "Messages sent": what the sandbox provider "sent", newest first, per flow and person. */
export function SandboxMessages() {
  const [flow, setFlow] = useState("");
  const [person, setPerson] = useState("");
  const [offset, setOffset] = useState(0);
  const messages = useQuery({
    queryKey: ["sandbox", flow, person, offset],
    refetchInterval: 5_000,
    queryFn: () =>
      unwrap(
        api.GET("/api/v1/sandbox/messages", {
          params: {
            query: {
              flow: flow ? Number(flow) : undefined,
              person: person ? Number(person) : undefined,
              limit: PAGE,
              offset,
            } as never,
          },
        }),
      ) as unknown as Promise<Page<Message>>,
  });
  const page = messages.data;
  return (
    <main className="page">
      <h1>Messages sent</h1>
      <p className="muted">What the sandbox provider “sent”: nothing leaves Tidings until a connection is set up.</p>
      <div className="filters" role="search">
        <label>
          Flow id
          <input inputMode="numeric" value={flow} onChange={(e) => { setFlow(e.target.value.replace(/\D/g, "")); setOffset(0); }} />
        </label>
        <label>
          Person id
          <input inputMode="numeric" value={person} onChange={(e) => { setPerson(e.target.value.replace(/\D/g, "")); setOffset(0); }} />
        </label>
      </div>
      {messages.isError && <p role="alert">{messages.error.message}</p>}
      <table aria-label="Messages sent">
        <thead>
          <tr>
            <th scope="col">Sent</th>
            <th scope="col">Channel</th>
            <th scope="col">To</th>
            <th scope="col">From</th>
            <th scope="col">Message</th>
            <th scope="col">Flow</th>
            <th scope="col">Element</th>
            <th scope="col">Status</th>
          </tr>
        </thead>
        <tbody>
          {page?.items.map((m) => (
            <tr key={m.id}>
              <td>{when(m.sentAt)}</td>
              <td>{m.channel}</td>
              <td>{m.to}</td>
              <td>{m.from ?? ""}</td>
              <td className="message">{m.subject ? `${m.subject} — ` : ""}{m.text ?? ""}</td>
              <td>{m.flow ?? ""}</td>
              <td>{m.elementName ?? m.element ?? ""}</td>
              <td>{m.status}</td>
            </tr>
          ))}
        </tbody>
      </table>
      {page && page.items.length === 0 && <p>No messages yet.</p>}
      <Pager offset={offset} size={PAGE} page={page} onChange={setOffset} />
    </main>
  );
}
