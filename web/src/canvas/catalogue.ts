// What the canvas knows of each element type and entry type: the guide's words, the fields of
// DESIGN.md's element table and the outcomes. Pure data, shared by the canvas and its tests.

export type FieldKind = "text" | "textarea" | "duration" | "json" | "number" | "select" | "branches" | "checkbox";

export interface Field {
  key: string;
  label: string;
  kind: FieldKind;
  options?: string[];
  hint?: string;
  /** For "branches": the field each branch has besides its name, and that field's label. */
  branch?: { key: string; label: string; number?: boolean };
}

export interface ElementKind {
  type: string;
  label: string;
  family: "channel" | "function" | "ivr" | "end";
  prefix: string;
  fields: Field[];
  /** Fixed outcomes; branch-driven types derive theirs from `branches`. */
  outcomes?: string[];
  branchOutcomes?: boolean;
  otherwise?: boolean;
}

/** The families of the "Add element" menu and the "Replace with" list, in the guide's order. */
/** A channel as the screens name it (performance, test run samples). */
export const CHANNEL_NAMES: Record<string, string> = {
  sms: "SMS",
  email: "Email",
  whatsapp: "WhatsApp",
  viber: "Viber",
  voice: "Voice",
  push: "Push",
};

export const FAMILIES: Array<[ElementKind["family"], string]> = [
  ["channel", "Channels"],
  ["function", "Functions"],
  ["ivr", "IVR"],
  ["end", "End"],
];

const templateHint = "Liquid placeholders such as {{ person.firstName }} or {{ cartValue }}";
const exprHint = "an expression: variables bare, person.x, event.x";
const connection: Field = {
  key: "connection", label: "Connection", kind: "number",
  hint: "a connection's id; empty: the account's default for the channel",
};
const trackLinks: Field = {
  key: "trackLinks", label: "Track links", kind: "checkbox",
  hint: "links in the text lead through Tidings, so clicks are counted",
};

export const ELEMENTS: ElementKind[] = [
  {
    type: "send_sms", label: "SMS", family: "channel", prefix: "sms",
    fields: [
      { key: "from", label: "Sender", kind: "text" },
      { key: "text", label: "Text", kind: "textarea", hint: templateHint },
      trackLinks,
      connection,
    ],
  },
  {
    type: "send_email", label: "Email", family: "channel", prefix: "email",
    fields: [
      { key: "from", label: "Sender", kind: "text" },
      { key: "replyTo", label: "Reply to", kind: "text" },
      { key: "subject", label: "Subject", kind: "text", hint: templateHint },
      { key: "html", label: "HTML", kind: "textarea", hint: templateHint },
      { key: "text", label: "Plain text", kind: "textarea" },
      connection,
    ],
  },
  {
    type: "send_whatsapp", label: "WhatsApp", family: "channel", prefix: "whatsapp",
    fields: [
      { key: "from", label: "Sender", kind: "text" },
      { key: "text", label: "Text", kind: "textarea", hint: templateHint },
      { key: "template", label: "Template", kind: "json", hint: '{"name", "language", "params"}' },
      trackLinks,
      connection,
    ],
  },
  {
    type: "send_viber", label: "Viber", family: "channel", prefix: "viber",
    fields: [
      { key: "from", label: "Sender", kind: "text" },
      { key: "text", label: "Text", kind: "textarea", hint: templateHint },
      { key: "image", label: "Image", kind: "text" },
      { key: "button", label: "Button", kind: "json", hint: '{"text", "url"}' },
      trackLinks,
      connection,
    ],
  },
  {
    type: "voice_call", label: "Voice call", family: "ivr", prefix: "voice",
    outcomes: ["answered", "notAnswered", "collected"],
    fields: [
      { key: "from", label: "Sender", kind: "text" },
      { key: "say", label: "Say", kind: "textarea", hint: templateHint },
      { key: "language", label: "Language", kind: "text" },
      { key: "collect", label: "Collect digits", kind: "json", hint: '{"variable", "maxDigits", "timeout"}' },
      connection,
    ],
  },
  {
    type: "failover", label: "Failover", family: "channel", prefix: "failover",
    outcomes: ["delivered", "failed"],
    fields: [
      { key: "attempts", label: "Attempts", kind: "json", hint: "a list of send elements without id" },
      { key: "waitForDelivery", label: "Wait for delivery", kind: "duration" },
    ],
  },
  {
    type: "wait", label: "Wait", family: "function", prefix: "wait",
    fields: [
      { key: "duration", label: "Duration", kind: "duration" },
      { key: "until", label: "Until", kind: "text", hint: exprHint },
      { key: "at", label: "At", kind: "text", hint: '"09:00", in the person\'s time zone' },
    ],
  },
  {
    type: "wait_for_event", label: "Wait for event", family: "function", prefix: "waitev",
    outcomes: ["event", "timeout"],
    fields: [
      { key: "event", label: "Event", kind: "text" },
      { key: "element", label: "Message of element", kind: "text" },
      { key: "where", label: "Where", kind: "text", hint: exprHint },
      { key: "timeout", label: "Timeout", kind: "duration" },
      { key: "assign", label: "Assign", kind: "json", hint: '{"variable": "event.x"}' },
    ],
  },
  {
    type: "segment", label: "Segment", family: "function", prefix: "segment",
    branchOutcomes: true, otherwise: true,
    fields: [{ key: "branches", label: "Branches", kind: "branches", branch: { key: "when", label: "When" }, hint: exprHint }],
  },
  {
    type: "split", label: "Split", family: "function", prefix: "split",
    branchOutcomes: true,
    fields: [{ key: "branches", label: "Branches", kind: "branches", branch: { key: "percent", label: "Percent", number: true } }],
  },
  {
    type: "update_profile", label: "Update profile", family: "function", prefix: "profile",
    fields: [
      { key: "set", label: "Set attributes", kind: "json", hint: '{"attribute": expression}' },
      { key: "addTags", label: "Add tags", kind: "json", hint: '["tag"]' },
      { key: "removeTags", label: "Remove tags", kind: "json", hint: '["tag"]' },
    ],
  },
  {
    type: "update_variable", label: "Update variable", family: "function", prefix: "variable",
    fields: [{ key: "set", label: "Set variables", kind: "json", hint: '{"variable": expression}' }],
  },
  {
    type: "call_api", label: "Call API", family: "function", prefix: "api",
    outcomes: ["success", "failure"],
    fields: [
      { key: "method", label: "Method", kind: "select", options: ["GET", "POST", "PUT", "PATCH", "DELETE"] },
      { key: "url", label: "URL", kind: "text", hint: templateHint },
      { key: "headers", label: "Headers", kind: "json" },
      { key: "body", label: "Body", kind: "textarea", hint: templateHint },
      { key: "timeout", label: "Timeout", kind: "duration" },
      { key: "retries", label: "Retries", kind: "number" },
      { key: "assign", label: "Assign", kind: "json", hint: '{"variable": "response.x"}' },
    ],
  },
  {
    type: "add_to_flow", label: "Add to flow", family: "function", prefix: "addflow",
    fields: [
      { key: "flow", label: "Flow", kind: "number" },
      { key: "variables", label: "Variables", kind: "json", hint: '{"name": expression}' },
    ],
  },
  {
    type: "notify", label: "Notify", family: "function", prefix: "notify",
    fields: [
      { key: "channel", label: "Channel", kind: "select", options: ["sms", "email"] },
      { key: "to", label: "To", kind: "text", hint: exprHint },
      { key: "from", label: "Sender", kind: "text" },
      { key: "text", label: "Text", kind: "textarea", hint: templateHint },
      { key: "subject", label: "Subject", kind: "text" },
      { key: "html", label: "HTML", kind: "textarea" },
    ],
  },
  {
    type: "catalog_lookup", label: "Catalog lookup", family: "function", prefix: "lookup",
    outcomes: ["found", "notFound"],
    fields: [
      { key: "catalog", label: "Catalog", kind: "text" },
      { key: "key", label: "Key", kind: "text", hint: exprHint },
      { key: "assign", label: "Assign", kind: "json", hint: '{"variable": "item.column"}' },
    ],
  },
  {
    type: "evaluate_inbound", label: "Evaluate inbound", family: "ivr", prefix: "inbound",
    branchOutcomes: true, otherwise: true,
    fields: [
      { key: "branches", label: "Branches", kind: "branches", branch: { key: "keyword", label: "Keyword" } },
      { key: "assign", label: "Assign", kind: "json", hint: '{"text": var, "sender": var}' },
    ],
  },
  { type: "exit", label: "Exit", family: "end", prefix: "exit", fields: [], outcomes: [] },
];

export const ELEMENT_BY_TYPE: Record<string, ElementKind> = Object.fromEntries(
  ELEMENTS.map((e) => [e.type, e]),
);

export interface EntryKind {
  type: string;
  label: string;
  fields: Field[];
}

export const ENTRIES: EntryKind[] = [
  {
    type: "audience", label: "Predefined audience",
    fields: [
      { key: "segments", label: "Segments", kind: "json", hint: "[ids or names]" },
      { key: "tags", label: "Tags", kind: "json", hint: "[names]" },
      { key: "people", label: "People", kind: "json", hint: "[ids]" },
      { key: "companies", label: "Companies", kind: "json", hint: "[ids or names]" },
      { key: "update", label: "Update", kind: "select", options: ["never", "realtime"] },
    ],
  },
  {
    type: "event", label: "People real-time event",
    fields: [
      { key: "event", label: "Event", kind: "text" },
      { key: "where", label: "Where", kind: "text", hint: exprHint },
      { key: "assign", label: "Assign", kind: "json", hint: '{"variable": "event.x"}' },
    ],
  },
  { type: "api", label: "Flow API", fields: [] },
  {
    type: "inbound", label: "Inbound message",
    fields: [
      { key: "channel", label: "Channel", kind: "select", options: ["sms", "whatsapp", "viber", "voice"] },
      { key: "number", label: "Number", kind: "text" },
      { key: "keyword", label: "Keyword", kind: "text" },
      { key: "assign", label: "Assign", kind: "json" },
    ],
  },
  {
    type: "sftp", label: "SFTP import",
    fields: [
      { key: "connection", label: "Connection", kind: "number" },
      { key: "path", label: "Path", kind: "text" },
      { key: "every", label: "Every", kind: "duration" },
    ],
  },
];

export const ENTRY_BY_TYPE: Record<string, EntryKind> = Object.fromEntries(
  ENTRIES.map((e) => [e.type, e]),
);

/** The label the guide gives a field of an element type (or the entry), for problems. */
export function fieldLabel(type: string | undefined, field: string): string {
  const kind = type ? ELEMENT_BY_TYPE[type] ?? ENTRY_BY_TYPE[type] : undefined;
  const top = field.split(".")[0];
  return kind?.fields.find((f) => f.key === top)?.label ?? field;
}
