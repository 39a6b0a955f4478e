import { useQuery } from "@tanstack/react-query";
import { useState } from "react";
import { api, unwrap } from "../api/client";

export interface MepAnswer {
  month: string;
  total: number;
  accounts: Array<{ id: number; name: string; total: number }>;
  topFlows: Array<{ flow: number; name: string; total: number }>;
}

interface AccountSettings {
  mepSubscription?: number | null;
}

/** `2026-11` and the two months before it, newest first. */
export function threeMonths(month: string): string[] {
  const [year, number] = month.split("-").map(Number);
  return [0, 1, 2].map((back) => {
    const d = new Date(Date.UTC(year, number - 1 - back, 1));
    return d.toISOString().slice(0, 7);
  });
}

/** The MEP dashboard: monthly engaged persons of the account and its sub-accounts, the
 * current month by default (the last 3 can be chosen), the top 10 flows, and the month's
 * use of the subscription (the account setting `mepSubscription`). Admin keys only: the
 * API's 403 is shown as it says. */
export function Mep() {
  // the server's current month (its clock may be virtual), then the two before it
  const [month, setMonth] = useState<string | null>(null);
  const mep = useQuery({
    queryKey: ["mep", month],
    retry: false,
    queryFn: () =>
      unwrap(
        api.GET("/api/v1/mep", { params: { query: (month ? { month } : {}) as never } }),
      ) as unknown as Promise<MepAnswer>,
  });
  const [current, setCurrent] = useState<string | null>(null);
  if (current === null && mep.data) setCurrent(mep.data.month);
  const months = current ? threeMonths(current) : [];
  const account = useQuery({
    queryKey: ["account settings"],
    queryFn: () => unwrap(api.GET("/api/v1/account")) as unknown as Promise<AccountSettings>,
  });
  const data = mep.data;
  const plan = account.data?.mepSubscription ?? null;
  return (
    <main className="page">
      <h1>Monthly engaged persons</h1>
      <p className="muted">
        A person who enters at least one flow in a calendar month is one engaged person that month, however many
        flows or entries; messages sent outside flows never count.
      </p>
      <label className="field" style={{ maxWidth: 200 }}>
        Month
        <select value={month ?? current ?? ""} onChange={(e) => setMonth(e.target.value)}>
          {months.map((m) => (
            <option key={m} value={m}>
              {m}
            </option>
          ))}
        </select>
      </label>
      {mep.isError && <p role="alert">{mep.error.message}</p>}
      {data && (
        <>
          <dl className="highlights" aria-label="MEP highlights">
            <div>
              <dt>Total MEP</dt>
              <dd>{data.total}</dd>
            </div>
            <div>
              <dt>Subscription</dt>
              <dd>
                {plan === null
                  ? "not set"
                  : `${data.total} of ${plan} (${plan > 0 ? Math.round((100 * data.total) / plan) : 0}%)`}
              </dd>
            </div>
          </dl>
          <h2>Per account</h2>
          <table aria-label="MEP per account">
            <thead>
              <tr>
                <th scope="col">Account</th>
                <th scope="col">MEP</th>
              </tr>
            </thead>
            <tbody>
              {data.accounts.map((a) => (
                <tr key={a.id}>
                  <th scope="row">{a.name}</th>
                  <td>{a.total}</td>
                </tr>
              ))}
            </tbody>
          </table>
          <h2>Top 10 flows</h2>
          <table aria-label="Top flows">
            <thead>
              <tr>
                <th scope="col">Flow</th>
                <th scope="col">MEP</th>
              </tr>
            </thead>
            <tbody>
              {data.topFlows.map((f) => (
                <tr key={f.flow}>
                  <th scope="row">{f.name}</th>
                  <td>{f.total}</td>
                </tr>
              ))}
              {data.topFlows.length === 0 && (
                <tr>
                  <td colSpan={2} className="muted">
                    Nobody entered a flow this month
                  </td>
                </tr>
              )}
            </tbody>
          </table>
        </>
      )}
    </main>
  );
}
