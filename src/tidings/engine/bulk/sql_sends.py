"""Which SMS of a set-based audience entry the store composes (bulk/audience.take_entries;
the SQL is store/composed_sms.py).

A launch sends the same template to a million people; composing each message in Python
(load the person, render, count the parts, build the outbox row) costs more than the
whole store's work for them, and it holds the interpreter the writer needs. When the
template is literal text and the person's text fields (`Hi {{ person.firstName }}`,
`{{ person.city | default: "there" }}`; `domain/templates.pieces`), the store builds
each person's text itself, in the statement that writes their outbox row:

- the text: the literals (and what is the same for everyone: variables, `now`) joined
  with the person's columns, `COALESCE`d as Liquid prints a missing or empty field;
- the recipient: the person's first phone number (by position), as `Run.recipient`;
- the parts: a text of printable ASCII without GSM-7's two-septet characters (and
  without the backtick, which GSM-7 lacks) is GSM-7 of one septet a character: one
  part up to 160, else 153 a part. Any other text is counted by `domain/sms.parts`
  afterwards, its rows only.

The path is taken only when no text can be empty (a literal that is not blank) or
reach the output limit (short literals, bounded columns), so every message goes; people
without a phone are not entered here: their entries stay in the inbox for the general
path, which traces why nothing was sent. tests/engine/test_uniform.py runs the same
launches with and without this path and compares the sandbox messages.
"""

from __future__ import annotations

from datetime import datetime
from typing import Final

from tidings.domain.journey.elements.content import SmsContent
from tidings.domain.journey.elements.messages import Send
from tidings.domain.journey.program import Program
from tidings.domain.journey.uniform import UniformMove, entry_data
from tidings.domain.templates import Field, pieces
from tidings.store.composed_sms import COLUMNS, SqlSend

FIELDS: Final = frozenset(COLUMNS)  # the person's text fields a template may print
MAX_LITERAL = 4000  # characters of literal text (a column is at most 255)
MAX_FIELDS = 20


def plan(program: Program, move: UniformMove, now: datetime) -> list[SqlSend] | None:
    """The sends of an entry `move` as SQL texts, or None when one of them cannot be."""
    if not move.sends:
        return None
    data = entry_data(program, move, now)  # the same for everyone; the person's are Fields
    out = []
    for element in move.sends:
        handler = program.handlers[element]
        if not isinstance(handler, Send) or not isinstance(handler.content, SmsContent):
            return None
        template = handler.content.text
        if template is None or handler.content.track_links:  # tracked links: in Python
            return None
        found = pieces(template, data, FIELDS)
        if found is None:
            return None
        literal = "".join(p for p in found if isinstance(p, str))
        fields = sum(isinstance(p, Field) for p in found)
        if not literal.strip() or len(literal) > MAX_LITERAL or fields > MAX_FIELDS:
            return None
        out.append(SqlSend(element, handler.content.sender, tuple(found)))
    return out
