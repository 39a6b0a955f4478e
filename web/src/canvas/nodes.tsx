import {
  BaseEdge,
  EdgeLabelRenderer,
  getSmoothStepPath,
  Handle,
  Position,
  type EdgeProps,
  type NodeProps,
  type Node,
  type Edge,
} from "@xyflow/react";
import { memo } from "react";
import { AddElement } from "./AddMenu";
import type { Slot } from "./document";

export interface NodeData extends Record<string, unknown> {
  label: string;
  typeLabel?: string;
  family?: string;
  problems: number;
  metrics?: { totalEngagements?: number; messagesSent?: number } | null;
  /** The counts of the Test run open beside the canvas (null: none). */
  testRun?: { entered: number; sent: number } | null;
  slot?: Slot;
  where?: string;
  editable: boolean;
  selected: boolean;
  onSelect: (id: string) => void;
  onAdd: (slot: Slot, type: string) => void;
}

export interface EdgeData extends Record<string, unknown> {
  label?: string;
  slot: Slot;
  where: string;
  toExit: boolean;
  editable: boolean;
  onAdd: (slot: Slot, type: string) => void;
}

export type FlowNode = Node<NodeData>;
export type FlowEdge = Edge<EdgeData>;

function Problems({ count }: { count: number }) {
  if (!count) return null;
  return <span className="node-problems">{count === 1 ? "1 problem" : `${count} problems`}</span>;
}

function Metrics({ metrics }: { metrics: NodeData["metrics"] }) {
  if (!metrics) return null;
  return (
    <span className="node-metrics">
      {metrics.totalEngagements ?? 0} engaged
      {metrics.messagesSent ? ` · Messages sent ${metrics.messagesSent}` : ""}
    </span>
  );
}

function TestRunBadge({ counts }: { counts: NodeData["testRun"] }) {
  if (!counts) return null;
  return (
    <span className="node-test-run">
      Test run: {counts.entered} entered{counts.sent ? ` · ${counts.sent} sent` : ""}
    </span>
  );
}

export const EntryNode = memo(function EntryNode({ id, data }: NodeProps<FlowNode>) {
  return (
    <div className={`node node-entry${data.selected ? " is-selected" : ""}`}>
      <button type="button" className="node-body nodrag" onClick={() => data.onSelect(id)} aria-pressed={data.selected}>
        <span className="node-kind">Entry point</span>
        <span className="node-name">{data.label}</span>
        <Problems count={data.problems} />
        <TestRunBadge counts={data.testRun} />
      </button>
      <Handle type="source" position={Position.Bottom} isConnectable={false} />
    </div>
  );
});

export const ElementNode = memo(function ElementNode({ id, data }: NodeProps<FlowNode>) {
  return (
    <div className={`node node-element family-${data.family ?? "other"}${data.selected ? " is-selected" : ""}`}>
      <Handle type="target" position={Position.Top} isConnectable={false} />
      <button
        type="button"
        className="node-body nodrag"
        onClick={() => data.onSelect(id)}
        aria-pressed={data.selected}
        title={data.metrics ? `Total engagements ${data.metrics.totalEngagements ?? 0}, Messages sent ${data.metrics.messagesSent ?? 0}` : undefined}
      >
        {data.label !== data.typeLabel && <span className="node-kind">{data.typeLabel}</span>}
        <span className="node-name">{data.label}</span>
        <Problems count={data.problems} />
        <Metrics metrics={data.metrics} />
        <TestRunBadge counts={data.testRun} />
      </button>
      <Handle type="source" position={Position.Bottom} isConnectable={false} />
    </div>
  );
});

export const ExitNode = memo(function ExitNode({ data }: NodeProps<FlowNode>) {
  return (
    <div className="node node-exit">
      <Handle type="target" position={Position.Top} isConnectable={false} />
      <span>Exit</span>
      {data.editable && data.slot && <AddElement slot={data.slot} onAdd={data.onAdd} where={data.where ?? ""} />}
    </div>
  );
});

export function FlowEdgeView(props: EdgeProps<FlowEdge>) {
  const { sourceX, sourceY, targetX, targetY, sourcePosition, targetPosition, data, markerEnd } = props;
  const [path, labelX, labelY] = getSmoothStepPath({
    sourceX, sourceY, targetX, targetY, sourcePosition, targetPosition, borderRadius: 8,
  });
  const showAdd = data && data.editable && !data.toExit;
  return (
    <>
      <BaseEdge path={path} markerEnd={markerEnd} />
      {(data?.label || showAdd) && (
        <EdgeLabelRenderer>
          <div
            className="edge-label nodrag nopan"
            role="group"
            aria-label={`Link ${data?.where ?? ""}`}
            style={{ transform: `translate(-50%, -50%) translate(${labelX}px, ${labelY}px)` }}
          >
            {data?.label && <span className="outcome">{data.label}</span>}
            {showAdd && <AddElement slot={data.slot} onAdd={data.onAdd} where={data.where} />}
          </div>
        </EdgeLabelRenderer>
      )}
    </>
  );
}

export const nodeTypes = { entry: EntryNode, element: ElementNode, exit: ExitNode };
export const edgeTypes = { flow: FlowEdgeView };
