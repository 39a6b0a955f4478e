"""The flow's send window, applied where a message would go out to the person.

Compiled once per version (`compile_window`, into `Program.send_window`; None when the
flow has none, so such a flow pays nothing). A send element asks `gate` before it sends:

- inside the window (or without one): None, send now;
- outside, `outside: wait` (the default): a `Hold` until the next opening, at the same
  element, with `local["window"]` set; the element's timer then sends (asking again,
  since a paused flow or a changed profile can make the wake come outside);
- outside, `outside: drop`: `DROP`; the element goes on without sending.

Either way a trace says why and `sendsDeferred` / `sendsDropped` are counted (flow and
element). Which elements ask: send_sms, send_email, send_whatsapp, send_viber, every
attempt of failover, voice_call. `notify` does not: it writes to the team (`to` is an
address the flow names), not to the person whose hours the window protects.

The zone: `"recipient"`: the person's (`timezone`, else a `timezone` attribute), else the
flow's (which falls back to the account's); `"flow"`: the flow's; else the IANA zone named.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import tzinfo
from typing import Any, Final

from tidings.domain.expressions.runtime import instant_text
from tidings.domain.flows import FlowDocument
from tidings.domain.journey.clock import first_zone, person_zone_name, zone
from tidings.domain.journey.run import Go, Hold, Run
from tidings.domain.send_windows import WindowRule, next_opening, window_of

WINDOW: Final = "window"  # local-state key: the person waits for the window to open
DROP: Final = Go()  # the send is dropped; the element goes on as it would without it


def compile_window(doc: FlowDocument, flow_zone: str, problems: list[str]) -> WindowRule | None:
    """The document's send window; None without one (or, with a problem listed, when it
    is not a window at all, which validation refuses)."""
    setting = doc.settings.send_window
    if setting is None:
        return None
    try:
        window = window_of(setting.days, setting.from_, setting.to)
    except ValueError as exc:
        problems.append(f"settings.sendWindow: {exc}")
        return None
    fixed: tzinfo | None = None
    if setting.timezone == "flow":
        fixed = first_zone(flow_zone)
    elif setting.timezone != "recipient":
        fixed = zone(setting.timezone)
        if fixed is None:
            problems.append(f"settings.sendWindow.timezone: {setting.timezone!r} is not a zone")
            fixed = first_zone(flow_zone)
    return WindowRule(window, fixed, setting.outside == "drop")


def recipient_zone(run: Run) -> tzinfo:
    """The person's zone (profile field, else attribute), else the flow's."""
    return first_zone(person_zone_name(run.person, run.program.timezone))


def gate(run: Run, element: str, local: Mapping[str, Any] | None = None) -> Hold | Go | None:
    """Whether a send of `element` may go now (None), waits (a Hold keeping `local`), or
    is dropped (`DROP`); see the module docstring."""
    rule = run.program.send_window
    if rule is None:
        return None
    where = rule.zone if rule.zone is not None else recipient_zone(run)
    opening = next_opening(rule.window, where, run.now)
    if opening == run.now:
        return None
    if rule.drop:
        run.trace(element, "dropped", f"outside the send window ({rule.window.describe()})")
        run.count("sendsDropped")
        run.count("sendsDropped", element)
        return DROP
    if opening is None:  # a window that never opens (see next_opening): send rather than hang
        return None
    run.trace(element, "deferred", f"outside the send window: until {instant_text(opening)}")
    run.count("sendsDeferred")
    run.count("sendsDeferred", element)
    return Hold(wake_at=opening, local={**(local or {}), WINDOW: True})


def deferred(run: Run) -> bool:
    """Whether the person waits at their element for the send window to open."""
    return bool(run.state.local.get(WINDOW))
