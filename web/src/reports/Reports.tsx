import { useMutation, useQuery, useQueryClient } from "@tanstack/react-query";
import { useState, type FormEvent } from "react";
import { api, ApiError, saveFile, unwrap } from "../api/client";
import { Pager } from "../app/Pager";
import { when, type FlowRow, type Page } from "../flows/types";
import { canEmail, emailStatus, MAX_RECIPIENTS, recipients, type ConnectionRow, type ReportEmail } from "./email";

export interface Report {
  id: number;
  name: string;
  type: string;
  format: string;
  status: "pending" | "ready" | "failed";
  reason?: string | null;
  rows?: number | null;
  size?: number | null;
  createdAt: string;
  finishedAt?: string | null;
  flow?: number | null;
  email?: ReportEmail | null;
}

export const REPORT_TYPES: Array<[string, string]> = [
  ["flow", "Flow performance"],
  ["channels", "Channels"],
  ["participants", "People of a flow"],
  ["mep", "Monthly engaged persons"],
  ["imports", "SFTP imports"],
];

const NEEDS_FLOW = new Set(["flow", "channels", "participants", "imports"]);
const PAGE = 20;

/** "Reports": create one (flow performance, channels, the people of a flow, MEP, SFTP
 * imports) as CSV or XLSX; it is made in the background; download it when ready. */
export function Reports() {
  const queries = useQueryClient();
  const [offset, setOffset] = useState(0);
  const [type, setType] = useState("flow");
  const [flow, setFlow] = useState("");
  const [version, setVersion] = useState("");
  const [month, setMonth] = useState("");
  const [format, setFormat] = useState("csv");
  const [name, setName] = useState("");
  const [emailTo, setEmailTo] = useState("");
  const [emailFrom, setEmailFrom] = useState("");
  const [failure, setFailure] = useState<string | null>(null);
  const reports = useQuery({
    queryKey: ["reports", offset],
    refetchInterval: (q) =>
      (q.state.data as Page<Report> | undefined)?.items.some((r) => r.status === "pending" || r.email?.status === "pending") ? 1_000 : 10_000,
    queryFn: () =>
      unwrap(api.GET("/api/v1/reports", { params: { query: { limit: PAGE, offset } } })) as unknown as Promise<
        Page<Report>
      >,
  });
  const flows = useQuery({
    queryKey: ["flows", "for reports"],
    queryFn: () =>
      unwrap(api.GET("/api/v1/flows", { params: { query: { limit: 200 } as never } })) as unknown as Promise<
        Page<FlowRow>
      >,
  });
  // Reports can be emailed once the account has an email connection (a key that may not
  // read connections, not admin, sees no field: the server would refuse it anyway).
  const connections = useQuery({
    queryKey: ["connections", "for reports"],
    retry: false,
    queryFn: () =>
      unwrap(api.GET("/api/v1/connections", { params: { query: { limit: 200 } as never } })) as unknown as Promise<
        Page<ConnectionRow>
      >,
  });
  const emailable = canEmail(connections.data?.items);
  const create = useMutation({
    mutationFn: (body: Record<string, unknown>) =>
      unwrap(api.POST("/api/v1/reports", { body: body as never })) as unknown as Promise<Report>,
    onSuccess: () => {
      setFailure(null);
      void queries.invalidateQueries({ queryKey: ["reports"] });
    },
    onError: (e: Error) => {
      const details = e instanceof ApiError ? e.details.map((d) => `${d.field}: ${d.message}`).join("; ") : "";
      setFailure(details || e.message);
    },
  });
  const submit = (event: FormEvent) => {
    event.preventDefault();
    if (NEEDS_FLOW.has(type) && !flow) {
      setFailure("flow: choose the flow the report is about");
      return;
    }
    const body: Record<string, unknown> = { type, format, name: name || REPORT_TYPES.find(([t]) => t === type)?.[1] };
    if (NEEDS_FLOW.has(type) && flow) body.flow = Number(flow);
    if (NEEDS_FLOW.has(type) && version) body.version = Number(version);
    if (type === "mep" && month) body.month = month;
    const to = emailable ? recipients(emailTo) : [];
    if (to.length > MAX_RECIPIENTS) {
      setFailure(`email.to: at most ${MAX_RECIPIENTS} addresses`);
      return;
    }
    if (to.length) body.email = emailFrom.trim() ? { to, from: emailFrom.trim() } : { to };
    create.mutate(body);
  };
  const page = reports.data;
  return (
    <main className="page">
      <h1>Reports</h1>
      <form className="report-form" aria-label="Create report" onSubmit={submit}>
        <label className="field">
          Report type
          <select aria-label="Report type" value={type} onChange={(e) => setType(e.target.value)}>
            {REPORT_TYPES.map(([value, label]) => (
              <option key={value} value={value}>
                {label}
              </option>
            ))}
          </select>
        </label>
        {NEEDS_FLOW.has(type) && (
          <>
            <label className="field">
              Flow
              <select aria-label="Flow" value={flow} onChange={(e) => setFlow(e.target.value)}>
                <option value="">Choose a flow</option>
                {flows.data?.items.map((f) => (
                  <option key={f.id} value={String(f.id)}>
                    {f.name}
                  </option>
                ))}
              </select>
            </label>
            <label className="field">
              Version
              <input inputMode="numeric" placeholder="All versions" value={version} onChange={(e) => setVersion(e.target.value.replace(/\D/g, ""))} />
            </label>
          </>
        )}
        {type === "mep" && (
          <label className="field">
            Month
            <input placeholder="2026-11" pattern="[0-9]{4}-[0-9]{2}" value={month} onChange={(e) => setMonth(e.target.value)} />
          </label>
        )}
        <label className="field">
          Format
          <select aria-label="Format" value={format} onChange={(e) => setFormat(e.target.value)}>
            <option value="csv">CSV</option>
            <option value="xlsx">XLSX</option>
          </select>
        </label>
        <label className="field">
          Report name
          <input value={name} maxLength={200} onChange={(e) => setName(e.target.value)} />
        </label>
        {emailable && (
          <>
            <label className="field">
              Email to
              <input
                type="text"
                inputMode="email"
                placeholder="ana@example.com, ivo@example.com"
                value={emailTo}
                onChange={(e) => setEmailTo(e.target.value)}
              />
            </label>
            <label className="field">
              Email from
              <input type="email" placeholder="The connection's sender" value={emailFrom} maxLength={320} onChange={(e) => setEmailFrom(e.target.value)} />
            </label>
          </>
        )}
        <button type="submit" className="primary" disabled={create.isPending}>
          Create report
        </button>
      </form>
      {failure && <p role="alert" className="problem">{failure}</p>}
      {reports.isError && <p role="alert">{reports.error.message}</p>}
      <table aria-label="Reports">
        <thead>
          <tr>
            <th scope="col">Name</th>
            <th scope="col">Type</th>
            <th scope="col">Format</th>
            <th scope="col">Created</th>
            <th scope="col">Status</th>
            <th scope="col">Rows</th>
            <th scope="col">Email</th>
            <th scope="col">File</th>
          </tr>
        </thead>
        <tbody>
          {page?.items.map((r) => (
            <tr key={r.id}>
              <th scope="row">{r.name}</th>
              <td>{REPORT_TYPES.find(([t]) => t === r.type)?.[1] ?? r.type}</td>
              <td>{r.format.toUpperCase()}</td>
              <td>{when(r.createdAt)}</td>
              <td>{r.status === "failed" ? `failed: ${r.reason ?? ""}` : r.status}</td>
              <td>{r.rows ?? ""}</td>
              <td>{emailStatus(r.email)}</td>
              <td>
                {r.status === "ready" && (
                  <button type="button" className="link" onClick={() => void saveFile(`/api/v1/reports/${r.id}/file`, `${r.name || `report-${r.id}`}.${r.format}`)} aria-label={`Download ${r.name}`}>
                    Download
                  </button>
                )}
              </td>
            </tr>
          ))}
        </tbody>
      </table>
      <Pager offset={offset} size={PAGE} page={page} onChange={setOffset} />
    </main>
  );
}
