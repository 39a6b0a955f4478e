"""The sandbox provider's rules: which outcomes it reports for a message, and when.

What it reports follows the account's sandbox settings: the share of messages delivered,
seen and clicked, and after how long. Each message's fate is a stable hash of its id, so
a run is reproducible and a retried send is the same message (the outbox id is the
message id; `store/sandbox.py` stores it once).
"""

from __future__ import annotations

import functools
import hashlib
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from tidings.domain.durations import parse_duration


@dataclass(frozen=True)
class SandboxSettings:
    delivered: float = 1.0
    seen: float = 0.0
    clicked: float = 0.0
    delay: str = "PT0S"

    def as_dict(self) -> dict[str, Any]:
        return {
            "delivered": self.delivered,
            "seen": self.seen,
            "clicked": self.clicked,
            "delay": self.delay,
        }


@dataclass(frozen=True)
class Outcome:
    """What the sandbox reports about one message: kinds in order, after `delay`."""

    reports: tuple[str, ...]
    delay: timedelta


def _chance(message_id: int, what: str) -> float:
    digest = hashlib.blake2b(f"{message_id}:{what}".encode(), digest_size=8).digest()
    return int.from_bytes(digest, "big") / 2**64


@functools.lru_cache(maxsize=64)
def _delay(text: str) -> timedelta:
    return parse_duration(text)


def decide(message_id: int, settings: SandboxSettings) -> Outcome:
    # A share of 1 (or 0) needs no hash: every chance is below 1 and none below 0.
    delivered = settings.delivered >= 1 or _chance(message_id, "delivered") < settings.delivered
    reports: list[str] = ["delivered" if delivered else "failed"]
    if delivered and settings.seen > 0 and _chance(message_id, "seen") < settings.seen:
        reports.append("seen")
        if settings.clicked > 0 and _chance(message_id, "clicked") < settings.clicked:
            reports.append("clicked")
    return Outcome(tuple(reports), _delay(settings.delay))


def fixed_outcome(settings: SandboxSettings) -> Outcome | None:
    """The outcome `decide` gives every message when no share it looks at needs a hash
    (each is 0 or 1): a batch then decides once. None when messages differ."""

    def sure(share: float) -> bool:
        return share <= 0 or share >= 1

    if not sure(settings.delivered):
        return None
    if settings.delivered <= 0:
        return Outcome(("failed",), _delay(settings.delay))
    reports = ["delivered"]
    if settings.seen > 0:
        if not sure(settings.seen):
            return None
        reports.append("seen")
        if settings.clicked > 0:
            if not sure(settings.clicked):
                return None
            reports.append("clicked")
    return Outcome(tuple(reports), _delay(settings.delay))
