// The flow document (DESIGN.md "Flow documents") and the edits the canvas makes to it.
// Pure functions: each takes a document and answers a new one; nothing is mutated.

import { ELEMENT_BY_TYPE } from "./catalogue";

export type Next = string | Record<string, string> | null | undefined;

export interface FlowElement {
  id: string;
  type: string;
  name?: string | null;
  next?: Next;
  [field: string]: unknown;
}

export interface FlowEntry {
  type: string;
  next?: string | null;
  [field: string]: unknown;
}

export interface FlowDocument {
  name: string;
  entry: FlowEntry;
  elements?: FlowElement[];
  [field: string]: unknown;
}

/** Where a new element goes: after the entry, or after an element (on one of its outcomes). */
export interface Slot {
  from: string; // "entry" or an element id
  outcome?: string; // the outcome of a multi-outcome element; none for a single `next`
}

export const ENTRY = "entry";

export function elementsOf(doc: FlowDocument): FlowElement[] {
  return doc.elements ?? [];
}

/** The element the entry leads to: its own `next`, else the first element. */
export function firstElement(doc: FlowDocument): string | undefined {
  return doc.entry.next ?? elementsOf(doc)[0]?.id;
}

/** The outcomes an element has: fixed by its type, or its branch names (+ otherwise). */
export function outcomesOf(element: FlowElement): string[] | null {
  const kind = ELEMENT_BY_TYPE[element.type];
  if (!kind) return null;
  if (kind.outcomes) return kind.outcomes.length ? kind.outcomes : [];
  if (kind.branchOutcomes) {
    const branches = Array.isArray(element.branches) ? element.branches : [];
    const names = branches
      .map((b) => (b && typeof b === "object" ? (b as { name?: unknown }).name : undefined))
      .filter((n): n is string => typeof n === "string" && n !== "");
    return kind.otherwise ? [...names, "otherwise"] : names;
  }
  return null; // one plain `next`
}

/** Every link out of a node: [outcome or null, target or undefined when it exits]. */
export function linksOf(element: FlowElement): Array<[string | null, string | undefined]> {
  if (element.type === "exit") return [];
  const outcomes = outcomesOf(element);
  const next = element.next;
  if (outcomes === null) {
    return [[null, typeof next === "string" ? next : undefined]];
  }
  const map = next && typeof next === "object" ? next : {};
  const links: Array<[string | null, string | undefined]> = outcomes.map((o) => [o, map[o]]);
  for (const [o, target] of Object.entries(map)) {
    if (!outcomes.includes(o)) links.push([o, target]);
  }
  return links;
}

export function newId(doc: FlowDocument, type: string): string {
  const prefix = ELEMENT_BY_TYPE[type]?.prefix ?? "element";
  const taken = new Set(elementsOf(doc).map((e) => e.id));
  let n = 1;
  while (taken.has(`${prefix}${n}`)) n += 1;
  return `${prefix}${n}`;
}

function targetOf(doc: FlowDocument, slot: Slot): string | undefined {
  if (slot.from === ENTRY) return firstElement(doc);
  const element = elementsOf(doc).find((e) => e.id === slot.from);
  if (!element) return undefined;
  const next = element.next;
  if (slot.outcome === undefined) return typeof next === "string" ? next : undefined;
  return next && typeof next === "object" ? next[slot.outcome] : undefined;
}

function pointTo(element: FlowElement, outcome: string | undefined, target: string | undefined): FlowElement {
  if (outcome === undefined) {
    const { next: _old, ...rest } = element;
    return target ? { ...rest, next: target } : rest;
  }
  const map = { ...(element.next && typeof element.next === "object" ? element.next : {}) };
  if (target) map[outcome] = target;
  else delete map[outcome];
  const { next: _old, ...rest } = element;
  return Object.keys(map).length ? { ...rest, next: map } : rest;
}

/** A blank element of a type, with the defaults the guide gives. */
export function blankElement(doc: FlowDocument, type: string): FlowElement {
  const element: FlowElement = { id: newId(doc, type), type };
  if (type === "segment") element.branches = [{ name: "Branch 1", when: "true" }];
  if (type === "split") element.branches = [{ name: "A", percent: 50 }, { name: "B", percent: 50 }];
  if (type === "evaluate_inbound") element.branches = [{ name: "Yes", keyword: "YES" }];
  return element;
}

/**
 * Add a new element of `type` at `slot`: what followed the slot now follows the new element
 * (on its plain `next`, or on its first outcome). Answers the new document and element id.
 */
export function addElement(doc: FlowDocument, slot: Slot, type: string): [FlowDocument, string] {
  let element = blankElement(doc, type);
  const after = targetOf(doc, slot);
  if (after && type !== "exit") {
    const outcomes = outcomesOf(element);
    element = pointTo(element, outcomes === null ? undefined : outcomes[0], after);
  }
  const elements = elementsOf(doc);
  let entry = doc.entry;
  let updated: FlowElement[];
  if (slot.from === ENTRY) {
    if (entry.next) {
      entry = { ...entry, next: element.id };
      updated = [...elements, element];
    } else {
      updated = [element, ...elements]; // the first element is where the entry leads
    }
  } else {
    updated = elements.map((e) => (e.id === slot.from ? pointTo(e, slot.outcome, element.id) : e));
    updated.push(element);
  }
  return [{ ...doc, entry, elements: updated }, element.id];
}

/**
 * Delete an element; whatever pointed at it now points where it led (its plain `next` or its
 * first linked outcome), so deleting a step in a chain keeps the chain.
 */
export function removeElement(doc: FlowDocument, id: string): FlowDocument {
  const elements = elementsOf(doc);
  const gone = elements.find((e) => e.id === id);
  if (!gone) return doc;
  const onward = linksOf(gone).find(([, t]) => t !== undefined)?.[1];
  const first = firstElement(doc);
  const rest = elements.filter((e) => e.id !== id).map((e) => {
    const next = e.next;
    if (typeof next === "string") return next === id ? pointTo(e, undefined, onward) : e;
    if (next && typeof next === "object") {
      let out = e;
      for (const [o, t] of Object.entries(next)) if (t === id) out = pointTo(out, o, onward);
      return out;
    }
    return e;
  });
  let entry = doc.entry;
  if (first === id) {
    if (entry.next) {
      const { next: _n, ...plain } = entry;
      entry = onward ? { ...plain, next: onward } : plain;
    } else if (onward) {
      // keep the onward element first, so the entry still leads to it
      const i = rest.findIndex((e) => e.id === onward);
      if (i > 0) rest.unshift(...rest.splice(i, 1));
    }
  }
  return { ...doc, entry, elements: rest };
}

/**
 * Replace an element by a blank one of another type, in its place (the guide's "Replace"):
 * whatever pointed at it points at the new one, its name stays, and what followed it follows
 * the new element: outcome by outcome where the names match (a segment's branches, a wait's
 * `event`/`timeout`), else its first onward link on the new element's plain `next` or first
 * outcome. Answers the new document and the new element's id.
 */
export function replaceElement(doc: FlowDocument, id: string, type: string): [FlowDocument, string] {
  const elements = elementsOf(doc);
  const old = elements.find((e) => e.id === id);
  if (!old || old.type === type) return [doc, id];
  const others = { ...doc, elements: elements.filter((e) => e.id !== id) };
  let element = blankElement(others, type);
  if (old.name) element.name = old.name;
  if (type !== "exit") {
    const links = linksOf(old).filter((l): l is [string | null, string] => l[1] !== undefined);
    const outcomes = outcomesOf(element);
    if (outcomes === null) {
      if (links.length) element = pointTo(element, undefined, links[0][1]);
    } else if (outcomes.length) {
      const matched = links.filter(([o]) => o !== null && outcomes.includes(o));
      if (matched.length) for (const [o, t] of matched) element = pointTo(element, o as string, t);
      else if (links.length) element = pointTo(element, outcomes[0], links[0][1]);
    }
  }
  const swap = (target: string | undefined) => (target === id ? element.id : target);
  const updated = elements.map((e) => {
    if (e.id === id) return element;
    const next = e.next;
    if (typeof next === "string") return next === id ? { ...e, next: element.id } : e;
    if (next && typeof next === "object" && Object.values(next).includes(id)) {
      return { ...e, next: Object.fromEntries(Object.entries(next).map(([o, t]) => [o, swap(t) as string])) };
    }
    return e;
  });
  const entry = doc.entry.next === id ? { ...doc.entry, next: element.id } : doc.entry;
  return [{ ...doc, entry, elements: updated }, element.id];
}

/** Replace the fields of one element (id and type stay). */
export function updateElement(doc: FlowDocument, id: string, fields: Record<string, unknown>): FlowDocument {
  return {
    ...doc,
    elements: elementsOf(doc).map((e) => {
      if (e.id !== id) return e;
      const merged: FlowElement = { ...e, ...fields, id: e.id, type: e.type };
      for (const [k, v] of Object.entries(fields)) if (v === undefined || v === "") delete merged[k];
      return merged;
    }),
  };
}

export function updateEntry(doc: FlowDocument, fields: Record<string, unknown>): FlowDocument {
  const entry: FlowEntry = { ...doc.entry, ...fields };
  for (const [k, v] of Object.entries(fields)) if (v === undefined || v === "") delete entry[k];
  return { ...doc, entry };
}

/** A document to start from scratch with the chosen entry type. */
export function scratch(entryType: string, name = "Untitled flow"): FlowDocument {
  return { name, entry: { type: entryType }, elements: [] };
}

function isEmpty(v: unknown): boolean {
  return (
    v === undefined || v === "" || v === null ||
    (typeof v === "object" && !Array.isArray(v) && Object.keys(v as object).length === 0)
  );
}

/** Set a value deep in the document (e.g. ["settings", "goal", "event"]); an empty value
 * removes the key, and objects left empty go with it. */
export function setIn(doc: FlowDocument, path: string[], value: unknown): FlowDocument {
  const put = (obj: Record<string, unknown> | undefined, i: number): Record<string, unknown> => {
    const copy: Record<string, unknown> = { ...(obj ?? {}) };
    const key = path[i];
    const v = i === path.length - 1 ? value : put(copy[key] as Record<string, unknown> | undefined, i + 1);
    if (isEmpty(v)) delete copy[key];
    else copy[key] = v;
    return copy;
  };
  return put(doc, 0) as FlowDocument;
}

export function getIn(doc: FlowDocument, path: string[]): unknown {
  let v: unknown = doc;
  for (const key of path) v = v && typeof v === "object" ? (v as Record<string, unknown>)[key] : undefined;
  return v;
}
