import { useEffect, useId, useState } from "react";
import { ELEMENT_BY_TYPE, ELEMENTS, ENTRIES, FAMILIES, ENTRY_BY_TYPE, type Field } from "./catalogue";
import { elementsOf, removeElement, replaceElement, updateElement, updateEntry, type FlowDocument } from "./document";
import { elementLabel } from "./graph";
import { AUDIENCE_SOURCES, SaveInPlace, type InPlace } from "./InPlace";
import { useEditor, type Problem } from "./store";

function JsonField({
  field,
  value,
  onChange,
  describedBy,
  disabled,
}: {
  field: Field;
  value: unknown;
  onChange: (v: unknown) => void;
  describedBy?: string;
  disabled: boolean;
}) {
  const shown = value === undefined || value === null ? "" : JSON.stringify(value, null, 1);
  const [text, setText] = useState(shown);
  const [bad, setBad] = useState(false);
  const id = useId();
  useEffect(() => {
    setText(shown);
    setBad(false);
  }, [shown]);
  return (
    <div className="field">
      <label htmlFor={id}>{field.label}</label>
      <textarea
        id={id}
        rows={3}
        value={text}
        disabled={disabled}
        aria-invalid={bad || undefined}
        aria-describedby={[describedBy, bad ? `${id}-bad` : ""].filter(Boolean).join(" ") || undefined}
        placeholder={field.hint}
        onChange={(e) => {
          setText(e.target.value);
          if (e.target.value.trim() === "") {
            setBad(false);
            onChange(undefined);
            return;
          }
          try {
            onChange(JSON.parse(e.target.value));
            setBad(false);
          } catch {
            setBad(true);
          }
        }}
      />
      {bad && (
        <p id={`${id}-bad`} className="problem">
          {field.label}: not valid JSON yet
        </p>
      )}
    </div>
  );
}

type Branch = Record<string, unknown>;

/** Branches of a segment, split or inbound evaluation: a name and one condition each; the
 * branch names are the element's outcomes on the canvas. */
function Branches({
  field,
  value,
  onChange,
  disabled,
}: {
  field: Field;
  value: unknown;
  onChange: (v: unknown) => void;
  disabled: boolean;
}) {
  const rows: Branch[] = Array.isArray(value) ? (value as Branch[]) : [];
  const other = field.branch ?? { key: "when", label: "When" };
  const set = (i: number, key: string, v: unknown) =>
    onChange(rows.map((b, j) => (j === i ? { ...b, [key]: v } : b)));
  return (
    <fieldset className="branches">
      <legend>{field.label}</legend>
      {rows.map((b, i) => (
        <div key={i} className="branch" role="group" aria-label={`Branch ${i + 1}`}>
          <label>
            Branch {i + 1} name
            <input value={String(b.name ?? "")} disabled={disabled} onChange={(e) => set(i, "name", e.target.value)} />
          </label>
          <label>
            Branch {i + 1} {other.label.toLowerCase()}
            <input
              value={b[other.key] === undefined ? "" : String(b[other.key])}
              disabled={disabled}
              inputMode={other.number ? "numeric" : undefined}
              placeholder={field.hint}
              onChange={(e) =>
                set(i, other.key, other.number ? (e.target.value === "" ? undefined : Number(e.target.value)) : e.target.value)
              }
            />
          </label>
          <button type="button" disabled={disabled} onClick={() => onChange(rows.filter((_, j) => j !== i))}>
            Remove branch {i + 1}
          </button>
        </div>
      ))}
      <button
        type="button"
        disabled={disabled}
        onClick={() => onChange([...rows, { name: `Branch ${rows.length + 1}`, [other.key]: other.number ? 0 : "" }])}
      >
        Add branch
      </button>
    </fieldset>
  );
}

function Input({
  field,
  value,
  onChange,
  problems,
  disabled,
}: {
  field: Field;
  value: unknown;
  onChange: (v: unknown) => void;
  problems: Problem[];
  disabled: boolean;
}) {
  const id = useId();
  const problemId = problems.length ? `${id}-problem` : undefined;
  const problemText = problems.length ? (
    <p id={problemId} className="problem">
      {problems.map((p) => `${field.label}: ${p.message}`).join("; ")}
    </p>
  ) : null;
  if (field.kind === "branches") {
    return (
      <>
        <Branches field={field} value={value} onChange={onChange} disabled={disabled} />
        {problemText}
      </>
    );
  }
  if (field.kind === "json") {
    return (
      <>
        <JsonField field={field} value={value} onChange={onChange} describedBy={problemId} disabled={disabled} />
        {problemText}
      </>
    );
  }
  const common = {
    id,
    disabled,
    "aria-invalid": problems.length > 0 || undefined,
    "aria-describedby": problemId,
  };
  const str = value === undefined || value === null ? "" : String(value);
  let control;
  if (field.kind === "textarea") {
    control = <textarea {...common} rows={4} value={str} placeholder={field.hint} onChange={(e) => onChange(e.target.value)} />;
  } else if (field.kind === "select") {
    control = (
      <select {...common} value={str} onChange={(e) => onChange(e.target.value || undefined)}>
        <option value="">—</option>
        {field.options?.map((o) => (
          <option key={o} value={o}>
            {o}
          </option>
        ))}
      </select>
    );
  } else if (field.kind === "checkbox") {
    return (
      <div className="field checkbox">
        <label>
          <input
            {...common}
            type="checkbox"
            checked={value === true}
            onChange={(e) => onChange(e.target.checked ? true : undefined)}
          />{" "}
          {field.label}
        </label>
        {field.hint && <p className="muted">{field.hint}</p>}
        {problemText}
      </div>
    );
  } else if (field.kind === "number") {
    control = (
      <input
        {...common}
        type="number"
        value={str}
        onChange={(e) => onChange(e.target.value === "" ? undefined : Number(e.target.value))}
      />
    );
  } else {
    control = (
      <input
        {...common}
        value={str}
        placeholder={field.kind === "duration" ? "ISO 8601, e.g. PT2H or P1D" : field.hint}
        onChange={(e) => onChange(e.target.value)}
      />
    );
  }
  return (
    <div className="field">
      <label htmlFor={id}>{field.label}</label>
      {control}
      {problemText}
    </div>
  );
}

const TEMPLATE_FIELDS = new Set(["text", "html", "subject", "say", "body", "url"]);

/** The placeholders a Liquid field offers: the person's usual attributes and the flow's
 * variables; a click adds one at the end of the text. */
function Placeholders({ doc, onInsert, disabled }: { doc: FlowDocument; onInsert: (p: string) => void; disabled: boolean }) {
  const variables = Array.isArray(doc.variables)
    ? (doc.variables as Array<{ name?: unknown }>).map((v) => v.name).filter((n): n is string => typeof n === "string")
    : [];
  const names = ["person.firstName", "person.lastName", "person.email", ...variables];
  return (
    <div className="placeholders" role="group" aria-label="Placeholders">
      {names.map((n) => (
        <button key={n} type="button" disabled={disabled} aria-label={`Insert {{ ${n} }}`} onClick={() => onInsert(`{{ ${n} }}`)}>
          {`{{ ${n} }}`}
        </button>
      ))}
    </div>
  );
}

function problemsFor(problems: Problem[] | null, element: string | null, field: string): Problem[] {
  if (!problems) return [];
  return problems.filter((p) => {
    const top = p.field.split(".")[0];
    if (element === "entry") return !p.element && p.field.startsWith("entry.") && p.field.split(".")[1] === field;
    return p.element === element && top === field;
  });
}

function EntryPanel({ doc, editable, inPlace }: { doc: FlowDocument; editable: boolean; inPlace?: InPlace }) {
  const edit = useEditor((s) => s.edit);
  const problems = useEditor((s) => s.problems);
  const kind = ENTRY_BY_TYPE[doc.entry.type];
  const typeId = useId();
  const audienceLive = inPlace !== undefined && doc.entry.type === "audience" && doc.entry.update === "realtime";
  return (
    <>
      <h2>Entry point</h2>
      <div className="field">
        <label htmlFor={typeId}>Entry point type</label>
        <select
          id={typeId}
          value={doc.entry.type}
          disabled={!editable}
          onChange={(e) => edit((d) => ({ ...d, entry: { type: e.target.value, ...(d.entry.next ? { next: d.entry.next } : {}) } }))}
        >
          {ENTRIES.map((e) => (
            <option key={e.type} value={e.type}>
              {e.label}
            </option>
          ))}
        </select>
      </div>
      {kind?.fields.map((f) => (
        <Input
          key={`${doc.entry.type}.${f.key}`}
          field={f}
          value={doc.entry[f.key]}
          disabled={!(editable || (audienceLive && AUDIENCE_SOURCES.includes(f.key)))}
          problems={problemsFor(problems, "entry", f.key)}
          onChange={(v) => edit((d) => updateEntry(d, { [f.key]: v }), `entry.${f.key}`)}
        />
      ))}
      {audienceLive && inPlace && (
        <div className="field">
          <p className="muted">
            The audience is updated in real time: people of a source you add enter as soon as you save.
          </p>
          <SaveInPlace inPlace={inPlace} what="audience" />
        </div>
      )}
    </>
  );
}

/** "Replace element": another type in the same place; its links and name stay, its fields go. */
function Replace({ current, onReplace }: { current: string; onReplace: (type: string) => void }) {
  const [type, setType] = useState("");
  const id = useId();
  return (
    <div className="field replace">
      <label htmlFor={id}>Replace with</label>
      <select id={id} value={type} onChange={(e) => setType(e.target.value)}>
        <option value="">Choose an element</option>
        {FAMILIES.map(([family, title]) => (
          <optgroup key={family} label={title}>
            {ELEMENTS.filter((e) => e.family === family && e.type !== current).map((e) => (
              <option key={e.type} value={e.type}>
                {e.label}
              </option>
            ))}
          </optgroup>
        ))}
      </select>
      <button type="button" disabled={!type} onClick={() => onReplace(type)}>
        Replace element
      </button>
    </div>
  );
}

function ElementPanel({ doc, id, editable }: { doc: FlowDocument; id: string; editable: boolean }) {
  const edit = useEditor((s) => s.edit);
  const problems = useEditor((s) => s.problems);
  const element = elementsOf(doc).find((e) => e.id === id);
  const nameId = useId();
  if (!element) return null;
  const kind = ELEMENT_BY_TYPE[element.type];
  const general = (problems ?? []).filter((p) => p.element === id && !kind?.fields.some((f) => f.key === p.field.split(".")[0]));
  return (
    <>
      <h2>{elementLabel(element)}</h2>
      <p className="muted">
        {kind?.label ?? element.type} · id <code>{element.id}</code>
      </p>
      <div className="field">
        <label htmlFor={nameId}>Name</label>
        <input
          id={nameId}
          value={element.name ?? ""}
          disabled={!editable}
          placeholder={kind?.label}
          onChange={(e) => edit((d) => updateElement(d, id, { name: e.target.value }), `${id}.name`)}
        />
      </div>
      {kind?.fields.map((f) => (
        <div key={`${id}.${f.key}`}>
          <Input
            field={f}
            value={element[f.key]}
            disabled={!editable}
            problems={problemsFor(problems, id, f.key)}
            onChange={(v) => edit((d) => updateElement(d, id, { [f.key]: v }), `${id}.${f.key}`)}
          />
          {TEMPLATE_FIELDS.has(f.key) && f.kind === "textarea" && (
            <Placeholders
              doc={doc}
              disabled={!editable}
              onInsert={(p) =>
                edit((d) => {
                  const current = elementsOf(d).find((e) => e.id === id)?.[f.key];
                  const text = typeof current === "string" && current ? `${current} ${p}` : p;
                  return updateElement(d, id, { [f.key]: text });
                })
              }
            />
          )}
        </div>
      ))}
      {general.map((p, i) => (
        <p key={i} className="problem">
          {p.field ? `${p.field}: ` : ""}
          {p.message}
        </p>
      ))}
      {editable && <Replace current={element.type} onReplace={(type) => {
        const [next, newId] = replaceElement(doc, id, type);
        edit(() => next, undefined, newId);
      }} />}
      {editable && (
        <button type="button" className="danger" onClick={() => edit((d) => removeElement(d, id), undefined, null)}>
          Delete element
        </button>
      )}
    </>
  );
}

export function SidePanel({ editable, audienceInPlace }: { editable: boolean; audienceInPlace?: InPlace }) {
  const doc = useEditor((s) => s.doc);
  const selected = useEditor((s) => s.selected);
  const select = useEditor((s) => s.select);
  if (!doc) return null;
  return (
    <aside className="side" aria-label="Element settings">
      {selected === "entry" ? (
        <EntryPanel doc={doc} editable={editable} inPlace={audienceInPlace} />
      ) : selected ? (
        <ElementPanel doc={doc} id={selected} editable={editable} />
      ) : (
        <p className="muted">Select the entry point or an element to configure it; add one with “+”.</p>
      )}
      {selected && (
        <button type="button" onClick={() => select(null)}>
          Close panel
        </button>
      )}
    </aside>
  );
}
