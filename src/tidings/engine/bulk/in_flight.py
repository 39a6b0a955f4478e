"""Writes handed to the writer and not waited for yet: a pipeline's parts.

Set-based moves submit their parts (`Database.submit`) and go on planning the next; the
event entries of a round may even stay in flight into the next round (`InFlight`).
"""

from __future__ import annotations

from concurrent.futures import Future, wait
from dataclasses import dataclass, field


def settled(pending: list[Future[int]]) -> list[int]:
    """The answers of writes submitted together, once every one of them is settled; the
    first failure is raised then (a part that failed left its stimuli in the inbox)."""
    wait(pending)
    return [future.result() for future in pending]


@dataclass
class InFlight:
    """Parts of event entries handed to the writer and not committed yet. A round does
    not wait for its last parts: the next round plans its head meanwhile, past the
    stimuli in flight (still in the inbox until their commit) and ending before anyone
    of theirs. Anything else the engine does starts with `settle`."""

    parts: list[tuple[Future[int], list[int], set[int]]] = field(default_factory=list)
    items: set[int] = field(default_factory=set)  # their inbox ids
    people: set[int] = field(default_factory=set)

    def __bool__(self) -> bool:
        return bool(self.parts)

    def add(self, future: Future[int], items: list[int], people: set[int]) -> None:
        self.parts.append((future, items, people))
        self.items.update(items)
        self.people |= people

    def trim(self, keep: int) -> None:
        """Wait for the oldest parts until `keep` are left; a failure is raised (its
        stimuli stay in the inbox, and are taken again)."""
        while len(self.parts) > keep:
            future, items, people = self.parts.pop(0)
            self.items.difference_update(items)
            self.people -= people
            future.result()

    def settle(self) -> None:
        """Wait for every part (the first failure is raised once all are done)."""
        parts, self.parts, self.items, self.people = self.parts, [], set(), set()
        settled([future for future, _, _ in parts])
