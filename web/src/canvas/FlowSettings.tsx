import { useId } from "react";
import { getIn, setIn, type FlowDocument } from "./document";
import { SaveInPlace, type InPlace } from "./InPlace";
import { useEditor } from "./store";

const DAYS = ["mon", "tue", "wed", "thu", "fri", "sat", "sun"];

function Text({
  label,
  path,
  doc,
  editable,
  placeholder,
}: {
  label: string;
  path: string[];
  doc: FlowDocument;
  editable: boolean;
  placeholder?: string;
}) {
  const edit = useEditor((s) => s.edit);
  const id = useId();
  const value = getIn(doc, path);
  return (
    <div className="field">
      <label htmlFor={id}>{label}</label>
      <input
        id={id}
        value={value === undefined || value === null ? "" : String(value)}
        placeholder={placeholder}
        disabled={!editable}
        onChange={(e) => edit((d) => setIn(d, path, e.target.value), path.join("."))}
      />
    </div>
  );
}

function Json({ label, path, doc, editable, hint }: { label: string; path: string[]; doc: FlowDocument; editable: boolean; hint: string }) {
  const edit = useEditor((s) => s.edit);
  const id = useId();
  const value = getIn(doc, path);
  return (
    <div className="field">
      <label htmlFor={id}>{label}</label>
      <textarea
        id={id}
        rows={3}
        placeholder={hint}
        disabled={!editable}
        key={JSON.stringify(value) ?? ""}
        defaultValue={value === undefined ? "" : JSON.stringify(value)}
        onBlur={(e) => {
          const text = e.target.value.trim();
          try {
            const parsed = text ? JSON.parse(text) : undefined;
            edit((d) => setIn(d, path, parsed), path.join("."));
            e.target.setCustomValidity("");
          } catch {
            e.target.setCustomValidity("not valid JSON");
            e.target.reportValidity();
          }
        }}
      />
    </div>
  );
}

/** "Flow settings": re-entry, entry limitations, goal, time zone, send window, schedule and
 * variables, as the document's `settings`, `timezone` and `variables` hold them. */
export function FlowSettings({
  doc,
  editable,
  inPlace,
}: {
  doc: FlowDocument;
  editable: boolean;
  /** A launched version: goal and schedule change in place (PATCH /versions/{n}). */
  inPlace?: InPlace;
}) {
  const edit = useEditor((s) => s.edit);
  const live = editable || inPlace !== undefined;
  const reentry = getIn(doc, ["settings", "reentry", "enabled"]) !== false;
  const days = (getIn(doc, ["settings", "sendWindow", "days"]) as string[] | undefined) ?? [];
  const forAYear = !getIn(doc, ["settings", "schedule", "end"]);
  return (
    <section aria-labelledby="settings-title" className="settings">
      <h2 id="settings-title">Flow settings</h2>
      <fieldset>
        <legend>Re-entry</legend>
        <label className="radio">
          <input
            type="checkbox"
            checked={reentry}
            disabled={!editable}
            onChange={(e) => edit((d) => setIn(d, ["settings", "reentry", "enabled"], e.target.checked ? undefined : false))}
          />
          Let people enter again after they exit
        </label>
        <Text label="Time delay before re-entry" path={["settings", "reentry", "delay"]} doc={doc} editable={editable} placeholder="e.g. PT24H" />
        <Json label="Entry limitations" path={["settings", "reentry", "limits"]} doc={doc} editable={editable} hint='[{"max": 2, "per": "P7D"}]' />
      </fieldset>
      <fieldset>
        <legend>Goal</legend>
        <Text label="Goal event" path={["settings", "goal", "event"]} doc={doc} editable={live} />
        <Text label="Goal condition" path={["settings", "goal", "where"]} doc={doc} editable={live} placeholder="an expression" />
        <Text label="Goal value" path={["settings", "goal", "value"]} doc={doc} editable={live} placeholder="e.g. event.amount" />
      </fieldset>
      <fieldset>
        <legend>Time zone and send window</legend>
        <Text label="Time zone" path={["timezone"]} doc={doc} editable={editable} placeholder="e.g. Europe/Zagreb" />
        <div role="group" aria-label="Send days" className="days">
          {DAYS.map((day) => (
            <label key={day} className="radio">
              <input
                type="checkbox"
                checked={days.includes(day)}
                disabled={!editable}
                onChange={(e) => {
                  const next = e.target.checked ? DAYS.filter((x) => x === day || days.includes(x)) : days.filter((x) => x !== day);
                  edit((d) => setIn(d, ["settings", "sendWindow", "days"], next.length ? next : undefined));
                }}
              />
              {day}
            </label>
          ))}
        </div>
        <Text label="Send from" path={["settings", "sendWindow", "from"]} doc={doc} editable={editable} placeholder="09:00" />
        <Text label="Send until" path={["settings", "sendWindow", "to"]} doc={doc} editable={editable} placeholder="20:00" />
        <Text label="Send window time zone" path={["settings", "sendWindow", "timezone"]} doc={doc} editable={editable} placeholder="recipient, flow or an IANA zone" />
      </fieldset>
      <fieldset>
        <legend>Schedule</legend>
        <Text label="Start" path={["settings", "schedule", "start"]} doc={doc} editable={live} placeholder="empty: at launch" />
        <Text label="End" path={["settings", "schedule", "end"]} doc={doc} editable={live} placeholder="empty: run this flow for 1 year" />
        <p className="muted">{forAYear ? "Run this flow for 1 year: it stops by itself after a year in which nothing fired." : "Runs until the end."}</p>
      </fieldset>
      <Json label="Variables" path={["variables"]} doc={doc} editable={editable} hint='[{"name": "cartValue", "type": "decimal", "default": "0"}]' />
      {inPlace && (
        <div className="field">
          <SaveInPlace inPlace={inPlace} what="goal and schedule" />
        </div>
      )}
    </section>
  );
}
