/** Emailing a report when it is done (`POST /reports` with `email`): who may be asked
 * for, and what the list shows of how the email went. */

export interface ReportEmail {
  to: string[];
  from?: string | null;
  status: "pending" | "sent" | "failed";
  reason?: string | null;
}

export interface ConnectionRow {
  provider: string;
  channels: string[];
}

export const MAX_RECIPIENTS = 10;

/** Whether the account can email reports: an smtp or infobip connection carrying email
 * (the sandbox sends nothing anywhere). */
export function canEmail(connections: ConnectionRow[] | undefined): boolean {
  return (connections ?? []).some((c) => (c.provider === "smtp" || c.provider === "infobip") && c.channels.includes("email"));
}

/** The addresses of an "Email to" field: separated by commas, semicolons or spaces,
 * each once (the server checks each one and names a bad one). */
export function recipients(text: string): string[] {
  const seen = new Set<string>();
  const out: string[] = [];
  for (const part of text.split(/[,;\s]+/)) {
    const address = part.trim();
    if (address && !seen.has(address.toLowerCase())) {
      seen.add(address.toLowerCase());
      out.push(address);
    }
  }
  return out;
}

/** The "Email" cell of a report: nothing when it is not emailed. */
export function emailStatus(email: ReportEmail | null | undefined): string {
  if (!email) return "";
  const to = email.to.join(", ");
  if (email.status === "sent") return `sent to ${to}`;
  if (email.status === "failed") return `failed: ${email.reason ?? "unknown"}`;
  return `to ${to} when ready`;
}
