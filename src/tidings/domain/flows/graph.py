"""The flow as a graph: where `next` leads, what the entry reaches, loops that never
wait, and the automatic exits on open branches."""

from __future__ import annotations

import hashlib
import re
from collections.abc import Mapping, Sequence

from tidings.domain.flows.base import ID_RE, MAX_ID
from tidings.domain.flows.branches import Exit
from tidings.domain.flows.document import ElementType, FlowDocument

_UNSAFE = re.compile(r"[^A-Za-z0-9_-]+")


def edges(doc: FlowDocument) -> dict[str, list[str]]:
    """Element id -> the known element ids its `next` leads to (unknown ids left out)."""
    known = {element.id for element in doc.elements}
    return {
        element.id: [t for t in dict.fromkeys(element.targets()) if t in known]
        for element in doc.elements
    }


def reachable(doc: FlowDocument) -> set[str]:
    """The ids of the elements some path from the entry reaches."""
    graph = edges(doc)
    start = doc.first_id()
    if start is None or start not in graph:
        return set()
    seen = {start}
    stack = [start]
    while stack:
        for target in graph[stack.pop()]:
            if target not in seen:
                seen.add(target)
                stack.append(target)
    return seen


def busy_loops(doc: FlowDocument) -> list[list[str]]:
    """Loops that pass no waiting element: a person in one would go round without end.

    Waiting elements are `wait`, `wait_for_event` and the elements that wait for an
    outside answer (`voice_call`, `call_api`, `failover`); each loop is listed once, in
    document order.
    """
    order = {element.id: i for i, element in enumerate(doc.elements)}
    busy = {element.id for element in doc.elements if not element.WAITS}
    graph = {
        node: [t for t in targets if t in busy]
        for node, targets in edges(doc).items()
        if node in busy
    }
    loops = []
    for component in _components(graph):
        if len(component) > 1 or component[0] in graph[component[0]]:
            loops.append(sorted(component, key=order.__getitem__))
    return sorted(loops, key=lambda loop: order[loop[0]])


def _components(graph: Mapping[str, Sequence[str]]) -> list[list[str]]:
    """Strongly connected components (Tarjan, iterative: documents hold 500 elements)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    on_stack: set[str] = set()
    stack: list[str] = []
    out: list[list[str]] = []
    counter = 0
    for root in graph:
        if root in index:
            continue
        work: list[tuple[str, int]] = [(root, 0)]
        while work:
            node, pos = work.pop()
            if pos == 0:
                index[node] = low[node] = counter
                counter += 1
                stack.append(node)
                on_stack.add(node)
            targets = graph[node]
            if pos < len(targets):
                work.append((node, pos + 1))
                target = targets[pos]
                if target not in index:
                    work.append((target, 0))
                elif target in on_stack:
                    low[node] = min(low[node], index[target])
                continue
            if low[node] == index[node]:
                component = []
                while True:
                    top = stack.pop()
                    on_stack.discard(top)
                    component.append(top)
                    if top == node:
                        break
                out.append(component)
            if work:
                parent = work[-1][0]
                low[parent] = min(low[parent], low[node])
    return out


def open_outcomes(element: ElementType) -> list[str | None]:
    """The ways on that lead nowhere yet: None for a missing single `next`."""
    if element.type == "exit":
        return []
    outcomes = list(dict.fromkeys(element.outcomes()))
    if not outcomes:
        return [None] if element.next is None else []
    if isinstance(element.next, str):
        return []
    taken = element.next or {}
    return [o for o in outcomes if o and o not in taken]


def with_exits(doc: FlowDocument) -> FlowDocument:
    """The document with an `exit` element on every open branch, ids `exit-<element>`
    or `exit-<element>-<outcome>` (made unique and short enough). Idempotent."""
    used = {element.id for element in doc.elements}
    elements: list[ElementType] = []
    exits: list[ElementType] = []
    for element in doc.elements:
        missing = open_outcomes(element)
        if not missing:
            elements.append(element)
            continue
        new_next: dict[str, str] = dict(element.next) if isinstance(element.next, dict) else {}
        single: str | None = None
        for outcome in missing:
            exit_id = _exit_id(element.id, outcome, used)
            used.add(exit_id)
            exits.append(Exit.model_validate({"id": exit_id, "type": "exit"}))
            if outcome is None:
                single = exit_id
            else:
                new_next[outcome] = exit_id
        next_value: str | dict[str, str] = single if single is not None else new_next
        elements.append(element.model_copy(update={"next": next_value}))
    if not exits:
        return doc
    return doc.model_copy(update={"elements": [*elements, *exits]})


def _exit_id(element_id: str, outcome: str | None, used: set[str]) -> str:
    base = f"exit-{element_id}" if outcome is None else f"exit-{element_id}-{outcome}"
    if not ID_RE.match(base) or len(base) > MAX_ID:
        digest = hashlib.sha1(f"{element_id}\0{outcome}".encode(), usedforsecurity=False)
        safe = _UNSAFE.sub("_", base)[: MAX_ID - 9]
        base = f"{safe}-{digest.hexdigest()[:8]}"
    candidate = base
    n = 2
    while candidate in used:
        suffix = f"-{n}"
        candidate = base[: MAX_ID - len(suffix)] + suffix
        n += 1
    return candidate
