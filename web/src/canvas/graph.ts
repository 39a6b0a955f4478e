// Document -> canvas: the entry and each element become nodes, each link an edge labelled by
// its outcome, and each open outcome an exit node (exits are never drawn by hand). The layout
// is computed (dagre), never stored. Pure: the same document always gives the same graph.

import dagre from "@dagrejs/dagre";
import { ELEMENT_BY_TYPE, ENTRY_BY_TYPE } from "./catalogue";
import { ENTRY, elementsOf, firstElement, linksOf, type FlowDocument, type Slot } from "./document";

export type NodeKind = "entry" | "element" | "exit";

export interface GraphNode {
  id: string;
  kind: NodeKind;
  label: string; // what the node shows: the element's name, else its type
  type?: string;
  family?: string;
  /** For an exit node: the open slot it stands for, where "Add element" adds. */
  slot?: Slot;
  ariaLabel: string;
  x: number;
  y: number;
  width: number;
  height: number;
}

export interface GraphEdge {
  id: string;
  source: string;
  target: string;
  label?: string;
  /** The slot this edge leaves from, for "Add element" on the edge. */
  slot: Slot;
  toExit: boolean;
}

export interface Graph {
  nodes: GraphNode[];
  edges: GraphEdge[];
}

export const SIZE = {
  entry: { width: 220, height: 64 },
  element: { width: 220, height: 64 },
  exit: { width: 150, height: 44 },
};

export function elementLabel(element: { type: string; name?: string | null }): string {
  return element.name?.trim() || ELEMENT_BY_TYPE[element.type]?.label || element.type;
}

export function entryLabel(doc: FlowDocument): string {
  return ENTRY_BY_TYPE[doc.entry.type]?.label ?? doc.entry.type;
}

export function toGraph(doc: FlowDocument): Graph {
  const nodes: GraphNode[] = [];
  const edges: GraphEdge[] = [];
  const elements = elementsOf(doc);
  const ids = new Set(elements.map((e) => e.id));
  const names = new Map(elements.map((e) => [e.id, elementLabel(e)]));

  const place = (n: Omit<GraphNode, "x" | "y" | "width" | "height">) =>
    nodes.push({ ...n, x: 0, y: 0, ...SIZE[n.kind] });

  const link = (source: string, sourceName: string, outcome: string | null, target: string | undefined) => {
    const slot: Slot = outcome === null ? { from: source } : { from: source, outcome };
    const key = outcome === null ? source : `${source}:${outcome}`;
    if (target !== undefined && ids.has(target)) {
      edges.push({ id: `e:${key}`, source, target, label: outcome ?? undefined, slot, toExit: false });
      return;
    }
    const exitId = `exit:${key}`;
    const where = outcome === null ? sourceName : `${sourceName}, ${outcome}`;
    place({ id: exitId, kind: "exit", label: "Exit", slot, ariaLabel: `Exit after ${where}` });
    edges.push({ id: `e:${key}`, source, target: exitId, label: outcome ?? undefined, slot, toExit: true });
  };

  const entryName = entryLabel(doc);
  place({ id: ENTRY, kind: "entry", label: entryName, type: doc.entry.type, ariaLabel: `Entry: ${entryName}` });
  link(ENTRY, "Entry", null, firstElement(doc));
  for (const element of elements) {
    const label = names.get(element.id) ?? element.id;
    if (element.type === "exit") {
      // an exit written in the document (launched versions carry them): drawn as an exit
      place({ id: element.id, kind: "exit", label: "Exit", type: "exit", ariaLabel: `Exit ${element.id}` });
      continue;
    }
    place({
      id: element.id,
      kind: "element",
      label,
      type: element.type,
      family: ELEMENT_BY_TYPE[element.type]?.family,
      ariaLabel: label,
    });
    for (const [outcome, target] of linksOf(element)) link(element.id, label, outcome, target);
  }
  return layout({ nodes, edges });
}

/** Top to bottom, ranks by the links; positions are each node's top-left corner. */
export function layout(graph: Graph): Graph {
  const g = new dagre.graphlib.Graph();
  g.setGraph({ rankdir: "TB", nodesep: 40, ranksep: 70, marginx: 20, marginy: 20 });
  g.setDefaultEdgeLabel(() => ({}));
  for (const n of graph.nodes) g.setNode(n.id, { width: n.width, height: n.height });
  for (const e of graph.edges) g.setEdge(e.source, e.target);
  dagre.layout(g);
  return {
    edges: graph.edges,
    nodes: graph.nodes.map((n) => {
      const p = g.node(n.id);
      return { ...n, x: Math.round(p.x - n.width / 2), y: Math.round(p.y - n.height / 2) };
    }),
  };
}
