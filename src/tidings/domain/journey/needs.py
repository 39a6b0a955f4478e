"""What of a person a message reads: so a batch loads no more of each profile than that.

    needs = message_needs([content])   # SMS "Hi {{ person.firstName }}" to the phone
    needs == Needs(attributes=frozenset({"firstName"}), tags=False, phones=True, emails=False)

A set-based entry composes thousands of messages at once (`uniform.personal_sends`);
the store then reads only the columns and contact kinds named here
(`store.journeys.load_people(needs=...)`), and the message is the same as from a whole
profile: a fast template reads exactly its paths (`Template.reads`), a send reads the
first phone or email address, and nothing else of the person is looked at. A Liquid
template may read anything (a loop over `person`, a filter on `person.tags`), so it
needs everything.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Final

from tidings.domain.journey.elements.content import Content


@dataclass(frozen=True)
class Needs:
    """What of each person to load: attributes by API name (None: all of them, with
    `timezone`), and whether tags, phones and emails are read. The person's ids (id,
    external id) always come along."""

    attributes: frozenset[str] | None
    tags: bool
    phones: bool
    emails: bool


EVERYTHING: Final = Needs(attributes=None, tags=True, phones=True, emails=True)
_LISTS: Final = {"tags", "phones", "emails"}
_OWN: Final = {"externalId", "id"}  # the person's own ids: always loaded


Path = tuple[str, ...]


def message_needs(contents: Iterable[Content]) -> Needs:
    """What composing these contents for a person reads of them."""
    return needs_of(*message_reads(contents))


def message_reads(contents: Iterable[Content]) -> tuple[list[Path | None], set[str]]:
    """The data paths these contents' templates read (None: anything, a Liquid template)
    and the contact lists they send to ("phones", "emails")."""
    paths: list[Path | None] = []
    contacts: set[str] = set()
    for content in contents:
        contacts.add("phones" if content.contact == "phone" else "emails")
        for template in content.templates():
            if template is None:
                continue
            reads = template.reads
            paths += [None] if reads is None else list(reads)
    return paths, contacts


def needs_of(paths: Iterable[Path | None], lists: Iterable[str] = ()) -> Needs:
    """What reading these data paths (None: anything) and these lists of the person
    ("tags", "phones", "emails") reads of them."""
    attributes: set[str] = set()
    read = set(lists)
    for path in paths:
        if path is None:
            return EVERYTHING
        if path[0] != "person":
            continue  # flow variables, the event, now: not the profile
        if len(path) == 1 or path[1] == "timezone":
            return EVERYTHING  # the whole map; a zone may come from two places
        if path[1] in _LISTS:
            read.add(path[1])
        elif path[1] not in _OWN:
            attributes.add(path[1])
    return Needs(
        attributes=frozenset(attributes),
        tags="tags" in read,
        phones="phones" in read,
        emails="emails" in read,
    )
