import { useMutation, useQuery, useQueryClient } from "@tanstack/react-query";
import { useEffect, useRef, useState } from "react";
import { api, unwrap } from "../api/client";
import { follow, navigate } from "../app/router";
import { CreateFlow } from "./CreateFlow";
import { STATUSES, when, type FlowRow, type Page } from "./types";
import { Pager } from "../app/Pager";

const PAGE = 20;

function FlowMenu({ flow, onDone }: { flow: FlowRow; onDone: (message: string) => void }) {
  const [open, setOpen] = useState(false);
  const queries = useQueryClient();
  const first = useRef<HTMLButtonElement>(null);
  useEffect(() => {
    if (open) first.current?.focus();
  }, [open]);
  const duplicate = useMutation({
    mutationFn: () =>
      unwrap(api.POST("/api/v1/flows/{flow_id}/duplicate", { params: { path: { flow_id: flow.id } } })),
    onSuccess: () => {
      void queries.invalidateQueries({ queryKey: ["flows"] });
      onDone(`Duplicated ${flow.name}.`);
    },
    onError: (e) => onDone(e.message),
  });
  const remove = useMutation({
    mutationFn: () =>
      unwrap(api.DELETE("/api/v1/flows/{flow_id}", { params: { path: { flow_id: flow.id } } })),
    onSuccess: () => {
      void queries.invalidateQueries({ queryKey: ["flows"] });
      onDone(`Deleted ${flow.name}.`);
    },
    onError: (e) => onDone(e.message),
  });
  const template = useMutation({
    mutationFn: (name: string) =>
      unwrap(api.POST("/api/v1/templates", { body: { name, flow: flow.id } as never })),
    onSuccess: (_, name) => {
      void queries.invalidateQueries({ queryKey: ["templates"] });
      onDone(`Saved ${name} as a template.`);
    },
    onError: (e) => onDone(e.message),
  });
  const act = (fn: () => void) => () => {
    setOpen(false);
    fn();
  };
  return (
    <div className="menu-anchor" onKeyDown={(e) => e.key === "Escape" && setOpen(false)}>
      <button
        type="button"
        aria-haspopup="menu"
        aria-expanded={open}
        aria-label={`Actions for ${flow.name}`}
        onClick={() => setOpen(!open)}
      >
        ⋯
      </button>
      {open && (
        <div role="menu" aria-label={`Actions for ${flow.name}`} className="menu">
          <button ref={first} role="menuitem" type="button" onClick={act(() => navigate(`/flows/${flow.id}`))}>
            Open
          </button>
          <button role="menuitem" type="button" onClick={act(() => duplicate.mutate())}>
            Duplicate
          </button>
          <button
            role="menuitem"
            type="button"
            onClick={act(() => {
              const name = window.prompt("Template name", flow.name)?.trim();
              if (name) template.mutate(name);
            })}
          >
            Save as template
          </button>
          {flow.status === "draft" && (
            <button
              role="menuitem"
              type="button"
              onClick={act(() => {
                if (window.confirm(`Delete ${flow.name}? This cannot be undone.`)) remove.mutate();
              })}
            >
              Delete
            </button>
          )}
        </div>
      )}
    </div>
  );
}

export function FlowList() {
  const [q, setQ] = useState("");
  const [search, setSearch] = useState("");
  const [status, setStatus] = useState("");
  const [offset, setOffset] = useState(0);
  const [creating, setCreating] = useState(false);
  const [notice, setNotice] = useState("");

  useEffect(() => {
    const wanted = q.trim();
    if (wanted === search) return;
    const t = window.setTimeout(() => {
      setSearch(wanted);
      setOffset(0);
    }, 250);
    return () => window.clearTimeout(t);
  }, [q, search]);

  const flows = useQuery({
    queryKey: ["flows", search, status, offset],
    placeholderData: (previous) => previous,
    queryFn: () =>
      unwrap(
        api.GET("/api/v1/flows", {
          params: {
            query: {
              q: search || undefined,
              status: (status || undefined) as (typeof STATUSES)[number] | undefined,
              limit: PAGE,
              offset,
            },
          },
        }),
      ) as unknown as Promise<Page<FlowRow>>,
  });
  const page = flows.data;

  return (
    <main className="page">
      <div className="page-head">
        <h1>All communications</h1>
        <button type="button" className="primary" onClick={() => setCreating(true)}>
          Create flow
        </button>
      </div>
      {creating && <CreateFlow onClose={() => setCreating(false)} />}
      <div className="filters" role="search">
        <label>
          Search
          <input type="search" value={q} onChange={(e) => setQ(e.target.value)} placeholder="Flow name" />
        </label>
        <label>
          Status
          <select
            value={status}
            onChange={(e) => {
              setStatus(e.target.value);
              setOffset(0);
            }}
          >
            <option value="">All statuses</option>
            {STATUSES.map((s) => (
              <option key={s} value={s}>
                {s}
              </option>
            ))}
          </select>
        </label>
      </div>
      <p role="status" className="notice">
        {notice}
      </p>
      {flows.isError && <p role="alert">{flows.error.message}</p>}
      <table className="flows" aria-label="Flows">
        <thead>
          <tr>
            <th scope="col">Name</th>
            <th scope="col">Status</th>
            <th scope="col">Created</th>
            <th scope="col">Last change</th>
            <th scope="col">
              <span className="visually-hidden">Actions</span>
            </th>
          </tr>
        </thead>
        <tbody>
          {page?.items.map((flow) => (
            <tr key={flow.id}>
              <th scope="row">
                <a href={`/flows/${flow.id}`} onClick={follow}>
                  {flow.name}
                </a>
              </th>
              <td>
                <span className={`status status-${flow.status}`}>{flow.status}</span>
              </td>
              <td>{when(flow.createdAt)}</td>
              <td>{when(flow.updatedAt)}</td>
              <td>
                <FlowMenu flow={flow} onDone={setNotice} />
              </td>
            </tr>
          ))}
        </tbody>
      </table>
      {page && page.items.length === 0 && (
        <p>{search || status ? "No flow matches." : "No flows yet: create the first one."}</p>
      )}
      <Pager offset={offset} size={PAGE} page={page} onChange={setOffset} />
    </main>
  );
}
