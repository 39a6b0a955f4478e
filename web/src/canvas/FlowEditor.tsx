import { useQuery, useQueryClient } from "@tanstack/react-query";
import {
  Controls,
  ReactFlow,
  ReactFlowProvider,
  useReactFlow,
  type NodeMouseHandler,
} from "@xyflow/react";
import "@xyflow/react/dist/style.css";
import { useCallback, useEffect, useMemo, useRef, useState } from "react";
import { api, ApiError, unwrap } from "../api/client";
import { follow, navigate } from "../app/router";
import type { Flow } from "../flows/types";
import { ELEMENT_BY_TYPE, fieldLabel } from "./catalogue";
import { addElement, elementsOf, ENTRY, type FlowDocument, type Slot } from "./document";
import { elementLabel, toGraph } from "./graph";
import { edgeTypes, nodeTypes, type FlowEdge, type FlowNode } from "./nodes";
import { Imports } from "../imports/Imports";
import { Performance as PerformancePanel, usePerformance, type PerformanceData } from "../performance/Performance";
import { FlowSettings } from "./FlowSettings";
import { AUDIENCE_SOURCES, patchVersion } from "./InPlace";
import { SidePanel } from "./SidePanel";
import { Versions } from "./Versions";
import { TestRun, type TestRunResult } from "../testrun/TestRun";
import { useEditor, type Problem } from "./store";

type SaveState = "saved" | "unsaved" | "saving" | "failed";

type Performance = PerformanceData;

/** "Reminder SMS — Sender: enter a sender": a problem as text naming element and field. */
export function describe(doc: FlowDocument, p: Problem): string {
  const element = p.element ? elementsOf(doc).find((e) => e.id === p.element) : undefined;
  if (element) {
    const field = p.field ? `${fieldLabel(element.type, p.field)}: ` : "";
    return `${elementLabel(element)} — ${field}${p.message}`;
  }
  if (p.field.startsWith("entry.")) {
    return `Entry point — ${fieldLabel(doc.entry.type, p.field.slice(6))}: ${p.message}`;
  }
  return `Flow — ${p.field ? `${p.field}: ` : ""}${p.message}`;
}

function Canvas({
  editable,
  metrics,
  testRun,
}: {
  editable: boolean;
  metrics: Performance["elements"] | null;
  testRun: TestRunResult | null;
}) {
  const doc = useEditor((s) => s.doc)!;
  const selected = useEditor((s) => s.selected);
  const problems = useEditor((s) => s.problems);
  const select = useEditor((s) => s.select);
  const edit = useEditor((s) => s.edit);
  const flow = useReactFlow();

  const onAdd = useCallback(
    (slot: Slot, type: string) => {
      const current = useEditor.getState().doc;
      if (!current) return;
      const [next, id] = addElement(current, slot, type);
      edit(() => next, undefined, id);
    },
    [edit],
  );
  const onSelect = useCallback((id: string) => select(id), [select]);

  const graph = useMemo(() => toGraph(doc), [doc]);
  const counts = useMemo(() => {
    const c: Record<string, number> = {};
    for (const p of problems ?? []) {
      const key = p.element ?? (p.field.startsWith("entry") ? ENTRY : "");
      if (key) c[key] = (c[key] ?? 0) + 1;
    }
    return c;
  }, [problems]);

  const names = useMemo(() => new Map(graph.nodes.map((n) => [n.id, n.label])), [graph]);
  const nodes: FlowNode[] = useMemo(
    () =>
      graph.nodes.map((n) => ({
        id: n.id,
        type: n.kind,
        position: { x: n.x, y: n.y },
        width: n.width,
        height: n.height,
        draggable: false,
        selectable: false,
        ariaLabel: n.ariaLabel,
        data: {
          label: n.label,
          typeLabel: n.type ? ELEMENT_BY_TYPE[n.type]?.label : undefined,
          family: n.family,
          problems: counts[n.id] ?? 0,
          metrics: metrics ? (metrics[n.id] ?? {}) : null,
          testRun: !testRun || n.kind === "exit"
            ? null
            : n.id === ENTRY
              ? { entered: testRun.flow.profilesInFlow ?? 0, sent: 0 }
              : {
                  entered: testRun.elements[n.id]?.totalEngagements ?? 0,
                  sent: testRun.elements[n.id]?.messagesSent ?? 0,
                },
          slot: n.slot,
          where: n.kind === "exit" ? n.ariaLabel.replace(/^Exit after/, "after") : undefined,
          editable,
          selected: selected === n.id,
          onSelect,
          onAdd,
        },
      })),
    [graph, counts, metrics, testRun, editable, selected, onSelect, onAdd],
  );
  const edges: FlowEdge[] = useMemo(
    () =>
      graph.edges.map((e) => {
        const from = e.source === ENTRY ? "Entry" : (names.get(e.source) ?? e.source);
        const where = `after ${from}${e.label ? `, ${e.label}` : ""}`;
        return {
          id: e.id,
          source: e.source,
          target: e.target,
          type: "flow",
          selectable: false,
          ariaLabel: `From ${from}${e.label ? ` (${e.label})` : ""} to ${names.get(e.target) ?? e.target}`,
          data: { label: e.label, slot: e.slot, where, toExit: e.toExit, editable, onAdd },
        };
      }),
    [graph, names, editable, onAdd],
  );

  const box = useRef<HTMLDivElement>(null);
  // Keep the whole flow in view when its shape changes (a node added or removed).
  // The bounds come from the layout, not from measured nodes, so a fit never waits for them.
  const shape = graph.nodes.map((n) => n.id).join(",");
  const bounds = useRef({ x: 0, y: 0, width: 1, height: 1, entryX: 0, entryY: 0 });
  bounds.current = useMemo(() => {
    const entry = graph.nodes.find((n) => n.id === ENTRY) ?? graph.nodes[0];
    const xs = graph.nodes.map((n) => n.x);
    const ys = graph.nodes.map((n) => n.y);
    const x = Math.min(...xs);
    const y = Math.min(...ys);
    const width = Math.max(...graph.nodes.map((n) => n.x + n.width)) - x;
    const height = Math.max(...graph.nodes.map((n) => n.y + n.height)) - y;
    return { x, y, width, height, entryX: entry.x + entry.width / 2, entryY: entry.y };
  }, [graph]);
  const fit = useCallback(() => {
    const { width, height } = box.current?.getBoundingClientRect() ?? { width: 0, height: 0 };
    if (!width || !height) return;
    const b = bounds.current;
    const fits = Math.min(1, (width - 60) / b.width, (height - 60) / b.height);
    if (fits >= 0.2) {
      void flow.setViewport({
        x: width / 2 - (b.x + b.width / 2) * fits,
        y: height / 2 - (b.y + b.height / 2) * fits,
        zoom: fits,
      });
    } else {
      // too big to fit: start at the entry point, at a size where names still read
      const zoom = 0.5;
      void flow.setViewport({ x: width / 2 - b.entryX * zoom, y: 20 - b.entryY * zoom, zoom });
    }
  }, [flow]);
  useEffect(() => {
    const t = window.setTimeout(fit, 0);
    return () => window.clearTimeout(t);
  }, [shape, fit]);

  // ...and when the canvas itself changes size (the problems list or a panel opens).
  useEffect(() => {
    const el = box.current;
    if (!el) return;
    let t = 0;
    const seen = new ResizeObserver(() => {
      window.clearTimeout(t);
      t = window.setTimeout(fit, 30);
    });
    seen.observe(el);
    return () => {
      seen.disconnect();
      window.clearTimeout(t);
    };
  }, [fit]);

  const onNodeClick: NodeMouseHandler<FlowNode> = (_, node) => {
    if (node.type !== "exit") select(node.id);
  };

  return (
    <div className="canvas" aria-label="Canvas" ref={box}>
      <ReactFlow<FlowNode, FlowEdge>
        nodes={nodes}
        edges={edges}
        nodeTypes={nodeTypes}
        edgeTypes={edgeTypes}
        onNodeClick={onNodeClick}
        nodesConnectable={false}
        nodesDraggable={false}
        elementsSelectable={false}
        deleteKeyCode={null}
        onlyRenderVisibleElements={nodes.length > 80}
        edgesFocusable={false}
        minZoom={0.2}
        maxZoom={1.5}
        proOptions={{ hideAttribution: true }}
      >
        <Controls showInteractive={false} />
      </ReactFlow>
    </div>
  );
}

/** Goal and schedule of a launched version, changed in place; answers what happened. */
function saveSettingsInPlace(flow: Flow, doc: FlowDocument): Promise<string> {
  const settings = (doc.settings ?? {}) as { goal?: unknown; schedule?: unknown };
  return patchVersion(flow.id, flow.version, {
    settings: { goal: settings.goal ?? null, schedule: settings.schedule ?? { start: null, end: null } },
  });
}

/** The sources of a launched real-time audience, changed in place; answers what happened. */
function saveAudienceInPlace(flow: Flow, doc: FlowDocument): Promise<string> {
  const entry = doc.entry as Record<string, unknown>;
  const sources = Object.fromEntries(
    AUDIENCE_SOURCES.map((k) => [k, Array.isArray(entry[k]) ? entry[k] : []]),
  );
  return patchVersion(flow.id, flow.version, { entry: sources });
}

/** Pause, resume or cancel a launched flow (POST /flows/{id}/pause|resume|cancel). */
function Lifecycle({ flow }: { flow: Flow }) {
  const queries = useQueryClient();
  const [error, setError] = useState<string | null>(null);
  const act = async (action: "pause" | "resume" | "cancel") => {
    if (action === "cancel" && !window.confirm(`Cancel ${flow.name}? Everyone in it leaves.`)) return;
    try {
      const path = `/api/v1/flows/{flow_id}/${action}` as "/api/v1/flows/{flow_id}/pause";
      await unwrap(api.POST(path, { params: { path: { flow_id: flow.id } } }));
      setError(null);
      await queries.invalidateQueries();
    } catch (e) {
      setError(e instanceof Error ? e.message : String(e));
    }
  };
  return (
    <>
      {flow.status === "active" && (
        <button type="button" onClick={() => void act("pause")}>
          Pause
        </button>
      )}
      {flow.status === "paused" && (
        <button type="button" onClick={() => void act("resume")}>
          Resume
        </button>
      )}
      {["active", "paused", "scheduled"].includes(flow.status) && (
        <button type="button" className="danger" onClick={() => void act("cancel")}>
          Cancel flow
        </button>
      )}
      {error && <span role="alert" className="problem">{error}</span>}
    </>
  );
}

function Editor({ flow }: { flow: Flow }) {
  const doc = useEditor((s) => s.doc);
  const problems = useEditor((s) => s.problems);
  const past = useEditor((s) => s.past.length);
  const future = useEditor((s) => s.future.length);
  const { edit, undo, redo, setProblems, select } = useEditor.getState();
  const queries = useQueryClient();
  const editable = flow.versionStatus === "draft";
  const [saved, setSaved] = useState(() => JSON.stringify(flow.document));
  const [state, setState] = useState<SaveState>("saved");
  const [error, setError] = useState<string | null>(null);
  const [checking, setChecking] = useState(false);
  const validated = useRef(false);

  const performance = usePerformance(flow.id, "all", !editable);
  const panel = useEditor((s) => s.panel);
  const show = useEditor((s) => s.show);
  // The Test run's counts show on the nodes while its panel is open, and go with it.
  const [testRun, setTestRun] = useState<TestRunResult | null>(null);
  useEffect(() => {
    if (panel !== "testrun") setTestRun(null);
  }, [panel]);

  const current = doc ? JSON.stringify(doc) : saved;
  const dirty = current !== saved;

  const save = useCallback(async (): Promise<boolean> => {
    const { doc: now } = useEditor.getState();
    if (!now || !editable) return true;
    const text = JSON.stringify(now);
    if (text === saved) return true;
    setState("saving");
    try {
      await unwrap(
        api.PUT("/api/v1/flows/{flow_id}/document", {
          params: { path: { flow_id: flow.id } },
          body: now as never,
        }),
      );
      setSaved(text);
      setState(JSON.stringify(useEditor.getState().doc) === text ? "saved" : "unsaved");
      setError(null);
      void queries.invalidateQueries({ queryKey: ["flows"] });
      return true;
    } catch (e) {
      setState("failed");
      setError(e instanceof ApiError ? e.message : String(e));
      return false;
    }
  }, [editable, flow.id, queries, saved]);

  const validate = useCallback(async () => {
    setChecking(true);
    try {
      if (!(await save())) return;
      const r = (await unwrap(
        api.POST("/api/v1/flows/{flow_id}/validate", { params: { path: { flow_id: flow.id } } }),
      )) as { problems: Problem[] };
      validated.current = true;
      setProblems(r.problems);
    } finally {
      setChecking(false);
    }
  }, [flow.id, save, setProblems]);

  // Drafts save as the user works: a moment after the last change.
  useEffect(() => {
    if (!dirty || !editable) return;
    setState((s) => (s === "saving" ? s : "unsaved"));
    const t = window.setTimeout(async () => {
      if ((await save()) && validated.current) await validate();
    }, 700);
    return () => window.clearTimeout(t);
  }, [current, dirty, editable, save, validate]);

  useEffect(() => {
    const keys = (e: KeyboardEvent) => {
      const target = e.target as HTMLElement;
      if (target.closest("input, textarea, select")) return;
      if ((e.ctrlKey || e.metaKey) && e.key.toLowerCase() === "z") {
        e.preventDefault();
        if (e.shiftKey) redo();
        else undo();
      } else if ((e.ctrlKey || e.metaKey) && e.key.toLowerCase() === "y") {
        e.preventDefault();
        redo();
      } else if (e.key === "Escape") {
        select(null);
      }
    };
    window.addEventListener("keydown", keys);
    return () => window.removeEventListener("keydown", keys);
  }, [undo, redo, select]);

  if (!doc) return null;
  const word = { saved: "All changes saved", unsaved: "Unsaved changes", saving: "Saving…", failed: "Not saved" }[state];

  return (
    <main className="editor">
      <div className="editor-bar">
        <a href="/" onClick={follow} className="back">
          ← All communications
        </a>
        <label className="flow-name">
          <span>Flow name</span>
          <input
            value={doc.name}
            disabled={!editable}
            onChange={(e) => edit((d) => ({ ...d, name: e.target.value }), "name")}
          />
        </label>
        <span className={`status status-${flow.versionStatus}`} aria-label="Status">
          {flow.versionStatus}
        </span>
        <span role="status" className="save-state">
          {editable ? word : `Version ${flow.version} is ${flow.versionStatus}: read only`}
        </span>
        <div className="actions">
          <button type="button" aria-pressed={panel === "settings"} onClick={() => show(panel === "settings" ? null : "settings")}>
            Flow settings
          </button>
          <button type="button" aria-pressed={panel === "versions"} onClick={() => show(panel === "versions" ? null : "versions")}>
            View all versions
          </button>
          <button type="button" aria-pressed={panel === "performance"} onClick={() => show(panel === "performance" ? null : "performance")}>
            View flow performance
          </button>
          <button type="button" aria-pressed={panel === "testrun"} onClick={() => show(panel === "testrun" ? null : "testrun")}>
            Test run
          </button>
          {doc.entry?.type === "sftp" && (
            <button type="button" aria-pressed={panel === "imports"} onClick={() => show(panel === "imports" ? null : "imports")}>
              SFTP imports
            </button>
          )}
          {!editable && <Lifecycle flow={flow} />}
          {editable && (
            <>
              <button type="button" onClick={undo} disabled={!past} aria-keyshortcuts="Control+Z">
                Undo
              </button>
              <button type="button" onClick={redo} disabled={!future} aria-keyshortcuts="Control+Shift+Z">
                Redo
              </button>
              <button type="button" onClick={() => void save()} disabled={!dirty || state === "saving"}>
                Save
              </button>
              <button type="button" onClick={() => void validate()} disabled={checking}>
                Validate
              </button>
              <button
                type="button"
                className="primary"
                onClick={async () => {
                  if (await save()) navigate(`/flows/${flow.id}/launch`);
                }}
              >
                Launch
              </button>
            </>
          )}
        </div>
      </div>
      {error && (
        <p role="alert" className="problem banner">
          Not saved: {error}
        </p>
      )}
      {problems && (
        <section className="problems" aria-label="Problems">
          {problems.length === 0 ? (
            <p>No problems: the flow is ready to launch.</p>
          ) : (
            <>
              <h2>{problems.length === 1 ? "1 problem" : `${problems.length} problems`}</h2>
              <ul>
                {problems.map((p, i) => (
                  <li key={i}>
                    <button type="button" className="link" onClick={() => select(p.element ?? (p.field.startsWith("entry") ? ENTRY : null))}>
                      {describe(doc, p)}
                    </button>
                  </li>
                ))}
              </ul>
            </>
          )}
        </section>
      )}
      <div className="editor-body">
        <ReactFlowProvider>
          <Canvas
            editable={editable}
            metrics={editable || testRun ? null : (performance.data?.elements ?? {})}
            testRun={panel === "testrun" ? testRun : null}
          />
        </ReactFlowProvider>
        {panel ? (
          <aside className="side wide" aria-label={{ settings: "Flow settings", versions: "Versions", performance: "Flow performance", testrun: "Test run", imports: "SFTP imports" }[panel]}>
            {panel === "settings" && (
              <FlowSettings
                doc={doc}
                editable={editable}
                inPlace={
                  ["active", "scheduled", "paused"].includes(flow.versionStatus)
                    ? { version: flow.version, save: () => saveSettingsInPlace(flow, doc) }
                    : undefined
                }
              />
            )}
            {panel === "versions" && <Versions flow={flow} />}
            {panel === "performance" && <PerformancePanel flowId={flow.id} doc={doc} versions={flow.versions} />}
            {panel === "imports" && <Imports flowId={flow.id} />}
            {panel === "testrun" && (
              <TestRun
                flowId={flow.id}
                version={flow.version}
                doc={doc}
                beforeRun={save}
                result={testRun}
                onResult={setTestRun}
                describe={(p) => describe(doc, p)}
              />
            )}
            <button type="button" onClick={() => show(null)}>
              Close panel
            </button>
          </aside>
        ) : (
          <SidePanel
            editable={editable}
            audienceInPlace={
              ["active", "scheduled", "paused"].includes(flow.versionStatus)
                ? { version: flow.version, save: () => saveAudienceInPlace(flow, doc) }
                : undefined
            }
          />
        )}
      </div>
    </main>
  );
}

export default function FlowEditor({ flowId }: { flowId: number }) {
  const load = useEditor((s) => s.load);
  const loadedFor = useEditor((s) => s.flowId);
  const flow = useQuery({
    queryKey: ["flow", flowId],
    staleTime: 0,
    queryFn: () =>
      unwrap(api.GET("/api/v1/flows/{flow_id}", { params: { path: { flow_id: flowId } } })) as unknown as Promise<Flow>,
  });
  const [key, setKey] = useState(0);
  useEffect(() => {
    if (flow.data) {
      load(flowId, flow.data.document);
      setKey((k) => k + 1);
    }
  }, [flow.data, flowId, load]);

  if (flow.isError) {
    return (
      <main className="page">
        <h1>Flow {flowId}</h1>
        <p role="alert">{flow.error.message}</p>
      </main>
    );
  }
  if (!flow.data || loadedFor !== flowId) return <p className="loading">Loading…</p>;
  return <Editor key={key} flow={flow.data} />;
}
