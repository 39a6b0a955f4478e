import { useQuery } from "@tanstack/react-query";
import { useState } from "react";
import { api, saveFile, unwrap } from "../api/client";
import { Pager } from "../app/Pager";
import { when, type Page } from "../flows/types";

export interface ImportRow {
  fetchedAt: string;
  connection: string | number | null;
  file: string | null;
  total: number;
  valid: number;
  invalid: number;
  error: string | null;
}

const PAGE = 20;

/** The SFTP import tab of a flow whose entry is `sftp`: each fetch (when, connection,
 * file, rows in total, valid, invalid, or the connection's error), newest first. */
export function Imports({ flowId }: { flowId: number }) {
  const [offset, setOffset] = useState(0);
  const imports = useQuery({
    queryKey: ["imports", flowId, offset],
    refetchInterval: 10_000,
    queryFn: () =>
      unwrap(
        api.GET("/api/v1/flows/{flow_id}/imports", {
          params: { path: { flow_id: flowId }, query: { limit: PAGE, offset } },
        }),
      ) as unknown as Promise<Page<ImportRow>>,
  });
  const page = imports.data;
  return (
    <section aria-labelledby="imports-title">
      <h2 id="imports-title">SFTP imports</h2>
      <button type="button" onClick={() => void saveFile(`/api/v1/flows/${flowId}/imports?format=csv`, `flow-${flowId}-imports.csv`)}>
        Export CSV
      </button>
      {imports.isError && <p role="alert">{imports.error.message}</p>}
      <div className="scroll-x">
        <table aria-label="Import performance">
          <thead>
            <tr>
              <th scope="col">Fetched at</th>
              <th scope="col">File</th>
              <th scope="col">Total</th>
              <th scope="col">Valid</th>
              <th scope="col">Invalid</th>
              <th scope="col">Error</th>
            </tr>
          </thead>
          <tbody>
            {page?.items.map((row, n) => (
              <tr key={`${row.fetchedAt}-${row.file ?? ""}-${n}`}>
                <td>{when(row.fetchedAt)}</td>
                <td>{row.file ?? "—"}</td>
                <td>{row.total}</td>
                <td>{row.valid}</td>
                <td>{row.invalid}</td>
                <td className={row.error ? "problem" : undefined}>{row.error ?? ""}</td>
              </tr>
            ))}
            {page && page.items.length === 0 && (
              <tr>
                <td colSpan={6} className="muted">
                  No file fetched yet
                </td>
              </tr>
            )}
          </tbody>
        </table>
      </div>
      <Pager offset={offset} size={PAGE} page={page} onChange={setOffset} />
    </section>
  );
}
