// People from a CSV file, read in the browser, as the API takes them (POST /people/batch,
// and the Test run's `profiles`): the same columns `tidings simulate --people-file` reads.
// `externalId`, the standard attributes, `phone(s)`, `email(s)`, `tags` (several values
// split by `;`), `timezone`; any other column is a custom attribute, typed as it reads
// (plain numbers, true/false, else text).

export type Profile = Record<string, unknown> & { externalId: string };

const STANDARD = new Set(["externalId", "firstName", "lastName", "gender", "birthDate", "country", "timezone"]);
const LISTS: Record<string, string> = { phone: "phones", phones: "phones", email: "emails", emails: "emails", tags: "tags" };
const NUMBER = /^-?(0|[1-9]\d{0,14})(\.\d{1,15})?$/;

/** Rows of cells: quoted cells may hold commas, quotes ("") and line breaks. */
export function parseCsv(text: string): string[][] {
  const rows: string[][] = [];
  let row: string[] = [];
  let cell = "";
  let quoted = false;
  const src = text.replace(/^\uFEFF/, "");
  for (let i = 0; i < src.length; i++) {
    const c = src[i];
    if (quoted) {
      if (c === '"' && src[i + 1] === '"') {
        cell += '"';
        i++;
      } else if (c === '"') quoted = false;
      else cell += c;
    } else if (c === '"' && cell === "") quoted = true;
    else if (c === ",") {
      row.push(cell);
      cell = "";
    } else if (c === "\n" || c === "\r") {
      if (c === "\r" && src[i + 1] === "\n") i++;
      row.push(cell);
      rows.push(row);
      row = [];
      cell = "";
    } else cell += c;
  }
  if (cell !== "" || row.length) {
    row.push(cell);
    rows.push(row);
  }
  return rows.filter((r) => r.some((x) => x.trim() !== ""));
}

function typed(raw: string): unknown {
  const text = raw.trim();
  if (text === "true" || text === "false") return text === "true";
  if (NUMBER.test(text)) return Number(text);
  return raw;
}

/** The people of a CSV with a header row; throws an Error naming the problem. */
export function profilesFromCsv(text: string): Profile[] {
  const [header, ...rows] = parseCsv(text);
  if (!header) throw new Error("the file is empty");
  const columns = header.map((h) => h.trim());
  if (!rows.length) throw new Error("the file has a header but no people");
  return rows.map((cells, index) => {
    const person: Record<string, unknown> = {};
    const attributes: Record<string, unknown> = {};
    columns.forEach((column, i) => {
      const cell = cells[i];
      if (!column || cell === undefined || cell === "") return;
      if (STANDARD.has(column)) person[column] = cell.trim();
      else if (LISTS[column]) {
        const key = LISTS[column];
        const values = cell.split(";").map((v) => v.trim()).filter(Boolean);
        person[key] = [...((person[key] as string[] | undefined) ?? []), ...values];
      } else attributes[column] = typed(cell);
    });
    if (Object.keys(attributes).length) person.attributes = attributes;
    if (!person.externalId) person.externalId = `p${index + 1}`;
    return person as Profile;
  });
}
