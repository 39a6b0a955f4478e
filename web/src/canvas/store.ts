// The editor's one store (Excalidraw's discipline): the document is the single source of
// truth; the canvas is computed from it. Undo/redo keep whole documents (they are small).

import { create } from "zustand";
import type { FlowDocument } from "./document";

export interface Problem {
  element?: string | null;
  field: string;
  message: string;
}

export type Panel = "settings" | "versions" | "performance" | "testrun" | "imports";

interface Editor {
  flowId: number | null;
  doc: FlowDocument | null;
  past: FlowDocument[];
  future: FlowDocument[];
  selected: string | null; // "entry", an element id, or null
  /** What the side panel shows besides an element: the flow's settings, versions, figures. */
  panel: Panel | null;
  problems: Problem[] | null; // null: not validated since the last change
  lastKey: string | null;
  lastAt: number;
  load: (flowId: number, doc: FlowDocument) => void;
  /** Apply an edit; edits with the same key within a second are one undo step (typing). */
  edit: (fn: (doc: FlowDocument) => FlowDocument, key?: string, select?: string | null) => void;
  undo: () => void;
  redo: () => void;
  select: (id: string | null) => void;
  show: (panel: Panel | null) => void;
  setProblems: (problems: Problem[] | null) => void;
}

const LIMIT = 200;

export const useEditor = create<Editor>((set, get) => ({
  flowId: null,
  doc: null,
  past: [],
  future: [],
  selected: null,
  panel: null,
  problems: null,
  lastKey: null,
  lastAt: 0,
  load: (flowId, doc) =>
    set({ flowId, doc, past: [], future: [], selected: null, panel: null, problems: null, lastKey: null }),
  edit: (fn, key, select) => {
    const { doc, past, lastKey, lastAt } = get();
    if (!doc) return;
    const next = fn(doc);
    if (next === doc) return;
    const now = Date.now();
    const coalesce = key !== undefined && key === lastKey && now - lastAt < 1000;
    set({
      doc: next,
      past: coalesce ? past : [...past.slice(-LIMIT), doc],
      future: [],
      lastKey: key ?? null,
      lastAt: now,
      ...(select !== undefined ? { selected: select, panel: null } : {}),
    });
  },
  undo: () => {
    const { doc, past, future } = get();
    if (!doc || past.length === 0) return;
    set({ doc: past[past.length - 1], past: past.slice(0, -1), future: [doc, ...future], lastKey: null });
  },
  redo: () => {
    const { doc, past, future } = get();
    if (!doc || future.length === 0) return;
    set({ doc: future[0], past: [...past, doc], future: future.slice(1), lastKey: null });
  },
  select: (selected) => set({ selected, panel: null }),
  show: (panel) => set({ panel, selected: null }),
  setProblems: (problems) => set({ problems }),
}));
