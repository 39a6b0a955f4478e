import { useQuery } from "@tanstack/react-query";
import { useState } from "react";
import { api, unwrap } from "../api/client";
import { follow } from "../app/router";
import { when, type Page } from "../flows/types";
import { Pager } from "../app/Pager";

export interface Person {
  id: number;
  externalId: string | null;
  firstName: string | null;
  lastName: string | null;
  country: string | null;
  timezone: string | null;
  phones: string[];
  emails: string[];
  tags: string[];
  attributes: Record<string, unknown>;
  createdAt: string;
  updatedAt: string;
  [field: string]: unknown;
}

const FILTERS: Array<[string, string]> = [
  ["externalId", "External id"],
  ["email", "Email"],
  ["phone", "Phone"],
  ["tag", "Tag"],
];
const PAGE = 50;

export function fullName(p: Person): string {
  return [p.firstName, p.lastName].filter(Boolean).join(" ") || p.externalId || `Person ${p.id}`;
}

/** People: search profiles by external id, email, phone or tag. */
export function People() {
  const [by, setBy] = useState("externalId");
  const [value, setValue] = useState("");
  const [query, setQuery] = useState<Record<string, string>>({});
  const [offset, setOffset] = useState(0);
  const people = useQuery({
    queryKey: ["people", query, offset],
    placeholderData: (previous) => previous,
    queryFn: () =>
      unwrap(
        api.GET("/api/v1/people", { params: { query: { ...query, limit: PAGE, offset } as never } }),
      ) as unknown as Promise<Page<Person>>,
  });
  const page = people.data;
  return (
    <main className="page">
      <h1>People</h1>
      <form
        className="filters"
        role="search"
        onSubmit={(e) => {
          e.preventDefault();
          setQuery(value.trim() ? { [by]: value.trim() } : {});
          setOffset(0);
        }}
      >
        <label>
          Find by
          <select value={by} onChange={(e) => setBy(e.target.value)}>
            {FILTERS.map(([key, label]) => (
              <option key={key} value={key}>
                {label}
              </option>
            ))}
          </select>
        </label>
        <label>
          Search people
          <input type="search" value={value} onChange={(e) => setValue(e.target.value)} />
        </label>
        <button type="submit">Search</button>
      </form>
      {people.isError && <p role="alert">{people.error.message}</p>}
      <table aria-label="People">
        <thead>
          <tr>
            <th scope="col">Name</th>
            <th scope="col">External id</th>
            <th scope="col">Phones</th>
            <th scope="col">Emails</th>
            <th scope="col">Tags</th>
            <th scope="col">Last change</th>
          </tr>
        </thead>
        <tbody>
          {page?.items.map((p) => (
            <tr key={p.id}>
              <th scope="row">
                <a href={`/people/${p.id}`} onClick={follow}>
                  {fullName(p)}
                </a>
              </th>
              <td>{p.externalId ?? ""}</td>
              <td>{p.phones.join(", ")}</td>
              <td>{p.emails.join(", ")}</td>
              <td>{p.tags.join(", ")}</td>
              <td>{when(p.updatedAt)}</td>
            </tr>
          ))}
        </tbody>
      </table>
      {page && page.items.length === 0 && <p>No one matches.</p>}
      <Pager offset={offset} size={PAGE} page={page} onChange={setOffset} />
    </main>
  );
}
