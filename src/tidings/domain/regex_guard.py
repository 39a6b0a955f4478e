"""Which regular expressions may take too long: the shapes that make Python's backtracking
`re` slow on a text crafted against them (a flow's author writes the pattern, but whoever
sends the message writes the text).

    slow_shape("(a+)+$")       # "nested": exponential in the text's length
    slow_shape(r"\\d*\\d*x")     # "adjacent": a power of it (1,600 digits: ten seconds)
    slow_shape(r"^\\s*yes\\b")   # None

- "nested": a group repeated without a bound (or more than `MANY` times) whose body,
  twice in a row, can split a text in more than one way (`_ambiguous`): `(a+)+`,
  `(\\w+\\s?)*`, `(x{1,3})+`, or whose alternatives can start alike, `(a|ab)*`; not
  `(\\d+,)+` (the comma ends each round) nor `(?:\\s|,)+`. So is a nest of bounded repeats with more
  than `MAX_WAYS` ways to split a text at one start: `((a{1,3}\\s?){1,3}.{1,3}){1,3}`.
- "adjacent": two unbounded repeats that can match the same character with only optional
  items between them (or mandatory ones they also match), followed by something that can
  fail: `\\d*\\d*x`, `.*\\d+$`, `\\w+\\s*\\w+!`. Without such a tail a search succeeds or
  fails fast (`.*a.*` is fine); after an anchor (`^\\s*\\w+\\s*$`) or a character none of
  them takes (`order\\s*#?\\s*\\d+`) it takes three such repeats (`^\\S+@\\S+\\.\\S+$`:
  two seconds on 1,600 characters). Groups are followed round by round, each alternative.

A heuristic on a small parse of the pattern, not a proof: it errs towards refusing.
Whether two items can match the same character is tried on a sample alphabet (letters,
digits, space, punctuation, a few non-Latin characters and every character of the pattern
itself), case-insensitively and with `.` matching a newline.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Final, Literal

MANY: Final = 10  # a repeat of more than this many times counts as unbounded
MAX_WAYS: Final = 10_000  # ways bounded repeats may split a text, at one start
_SAMPLE: Final = frozenset("09aAzZ_éßЖ中😀 \t\n.,;:!?-+*/\\()[]{}<>#@$%&='\"~^|`\x00")
_FLAGS: Final = re.IGNORECASE | re.DOTALL
_ZERO: Final = frozenset("bBAZ")  # zero-width escapes
_BRACES: Final = re.compile(r"\{(\d*)(?:(,)(\d*))?\}")

Shape = Literal["nested", "adjacent"]


@dataclass
class _Item:
    """One item of a sequence: what its first character can be, how often it repeats, and
    for a group its alternatives."""

    chars: frozenset[str]
    least: int = 1
    most: int | None = 1  # None: no bound
    zero: bool = False  # an assertion: matches no character, may fail
    anchor: bool = False  # ^ or \A: the text's start (not ^ under MULTILINE)
    alternatives: list[list[_Item]] = field(default_factory=list)

    @property
    def unbounded(self) -> bool:
        return self.most is None or self.most > MANY

    @property
    def variable(self) -> bool:
        return self.most != self.least


def slow_shape(pattern: str) -> Shape | None:
    """The slow shape of a (valid) pattern, or None."""
    parser = _Parser(pattern)
    alternatives = parser.alternatives()
    if any(_nested(sequence) for sequence in alternatives):
        return "nested"
    if sum(_ways(sequence) for sequence in alternatives) > MAX_WAYS:
        return "nested"
    if _adjacent(alternatives):
        return "adjacent"
    return None


def _ways(sequence: list[_Item]) -> float:
    """How many ways, at most, the bounded repeats of `sequence` can split a text: the
    backtracking of one start (unbounded repeats count once: the other shapes see them)."""
    ways = 1.0
    for item in sequence:
        inner = sum(_ways(s) for s in item.alternatives) if item.alternatives else 1.0
        if item.unbounded:
            ways *= inner
        elif item.alternatives:
            ways *= sum(inner**k for k in range(item.least, (item.most or 0) + 1)) or 1.0
        else:
            ways *= (item.most or 0) - item.least + 1
        if ways > MAX_WAYS:
            return ways
    return ways


def _nested(sequence: list[_Item]) -> bool:
    for item in sequence:
        if not item.alternatives:
            continue
        if item.unbounded and not item.zero and _ambiguous_rounds(item.alternatives):
            return True
        if any(_nested(s) for s in item.alternatives):
            return True
    return False


def _ambiguous_rounds(alternatives: list[list[_Item]]) -> bool:
    """Whether rounds of a group can split a text in more than one way: within one
    alternative (`_ambiguous`), or by two alternatives that can start alike."""
    if any(_ambiguous(s) for s in alternatives):
        return True
    firsts = [_first(s) for s in alternatives]
    return any(a & b for i, a in enumerate(firsts) for b in firsts[i + 1 :])


def _first(sequence: list[_Item]) -> frozenset[str]:
    """The characters a match of `sequence` can start with (roughly: groups whole)."""
    chars: set[str] = set()
    for item in sequence:
        if item.zero:
            continue
        chars |= item.chars
        if item.least > 0:
            break
    return frozenset(chars)


def _ambiguous(body: list[_Item]) -> bool:
    """Whether two rounds of a repeated group's `body` can split one text in more than
    one way: a repeat of a variable count meets an earlier one that can match the same
    characters, with nothing between them that only one of them matches."""
    run: list[frozenset[str]] = []
    for item in _flat(body) * 2:
        if item.zero:
            continue
        overlaps = any(item.chars & taken for taken in run)
        if item.variable:
            if overlaps:
                return True
            run.append(item.chars)
        elif item.least > 0 and not overlaps:
            run = []
    return False


# The adjacent shape, followed through the pattern. A state: the unbounded repeats that
# can still take one another's characters (each a set of characters), how many times one
# of them met an earlier one it overlaps (at most 2), the characters of the last mandatory
# item before them that none of them took (None: none yet), and whether the pattern is
# anchored at the text's start. A search tries each position of the text as a start, so
# one meeting followed by something that can fail costs n starts times n squared; but
# only one start is tried after an anchor, and after such an item none of the repeats
# takes, the starts' stretches lie apart: n squared in all, as for any single repeat,
# and it takes a second meeting to be slow.
_State = tuple[frozenset[frozenset[str]], int, frozenset[str] | None, bool]
_START: Final[_State] = (frozenset(), 0, None, False)
_ROUNDS: Final = 2 * MANY  # rounds of an unbounded group followed, at most


class _Slow(Exception):  # found: the walk stops
    pass


def _slow(state: _State) -> bool:
    """Whether something that can fail after `state` makes it slow."""
    run, met, apart, anchored = state
    if anchored or (apart is not None and not any(apart & taken for taken in run)):
        return met >= 2
    return met >= 1


def _adjacent(alternatives: list[list[_Item]]) -> bool:
    try:
        for sequence in alternatives:
            _through(sequence, {_START})
    except _Slow:
        return True
    return False


def _through(sequence: list[_Item], states: set[_State]) -> set[_State]:
    for item in sequence:
        states = _step(item, states)
    return states


def _step(item: _Item, states: set[_State]) -> set[_State]:
    """The states after `item` from `states`; raises _Slow when the shape is found."""
    if item.zero:  # an anchor or a lookaround (whose own sequences are walked alone)
        for sequence in item.alternatives:
            _through(sequence, {_START})
        if any(_slow(state) for state in states):
            raise _Slow
        if item.anchor:
            return {(run, met, apart, True) for run, met, apart, _ in states}
        return states
    if item.alternatives:
        return _rounds(item, states)
    out: set[_State] = set()
    for state in states:
        if item.least > 0 and _slow(state):
            raise _Slow  # overlapping repeats, then something that can fail
        run, met, apart, anchored = state
        overlaps = any(item.chars & taken for taken in run)
        if item.least > 0 and not overlaps:  # none of them takes it: a new run
            if item.unbounded:
                out.add((frozenset({item.chars}), 0, apart, anchored))
            else:
                out.add((frozenset(), 0, item.chars, anchored))
        elif item.unbounded:
            out.add((run | {item.chars}, min(met + overlaps, 2), apart, anchored))
        else:
            out.add(state)
    return out


def _rounds(group: _Item, states: set[_State]) -> set[_State]:
    """The states after a group: after each number of rounds it may take."""
    out = set(states) if group.least == 0 else set()
    most = _ROUNDS if group.most is None else min(group.most, _ROUNDS)
    seen: set[_State] = set()
    current = states
    for done in range(1, most + 1):
        current = {
            state for sequence in group.alternatives for state in _through(sequence, current)
        }
        if done >= group.least:
            out |= current
        if current <= seen:
            break  # no new state: more rounds give nothing more
        seen |= current
    if group.unbounded:  # and as a whole, a repeat of any of its characters: (a|b)*
        chars = group.chars
        out = {
            (run | {chars}, min(met + any(chars & t for t in run), 2), apart, anchored)
            for run, met, apart, anchored in out
        }
    return out


def _flat(sequence: list[_Item]) -> list[_Item]:
    """The sequence with each group of one alternative, not repeated, spliced in."""
    out: list[_Item] = []
    for item in sequence:
        if len(item.alternatives) == 1 and not item.zero and item.least == 1 and item.most == 1:
            out += _flat(item.alternatives[0])
        else:
            out.append(item)
    return out


def _union(alternatives: list[list[_Item]]) -> frozenset[str]:
    chars: set[str] = set()
    for sequence in alternatives:
        for item in sequence:
            chars |= item.chars
            chars |= _union(item.alternatives)
    return frozenset(chars)


class _Parser:
    """A small recursive-descent reading of a pattern `re` has compiled."""

    def __init__(self, pattern: str) -> None:
        self.pattern = pattern
        self.i = 0
        self.alphabet = _SAMPLE | frozenset(pattern)
        self.multiline = bool(re.compile(pattern).flags & re.MULTILINE)
        self._seen: dict[str, frozenset[str]] = {}

    def chars(self, atom: str) -> frozenset[str]:
        """The sample characters `atom` (one character's pattern) matches."""
        found = self._seen.get(atom)
        if found is None:
            try:
                compiled = re.compile(atom, _FLAGS)
            except (re.error, OverflowError):
                found = self.alphabet  # a back reference: anything
            else:
                found = frozenset(c for c in self.alphabet if compiled.fullmatch(c))
            self._seen[atom] = found
        return found

    def alternatives(self) -> list[list[_Item]]:
        """Sequences separated by "|", up to the ")" that ends the group (not taken)."""
        out: list[list[_Item]] = [[]]
        p = self.pattern
        while self.i < len(p) and p[self.i] != ")":
            if p[self.i] == "|":
                self.i += 1
                out.append([])
                continue
            item = self.atom()
            if item is not None:
                self.quantify(item)
                out[-1].append(item)
        return out

    def atom(self) -> _Item | None:
        p, i = self.pattern, self.i
        ch = p[i]
        if ch == "\\":
            end = _escape_end(p, i)
            self.i = end
            text = p[i:end]
            if text[1:] and text[1] in _ZERO:
                return _Item(frozenset(), least=0, most=0, zero=True, anchor=text[1] == "A")
            if text[1:2].isdigit() and text[1] != "0":
                return _Item(self.alphabet)  # a back reference
            return _Item(self.chars(text))
        if ch == "[":
            end = _class_end(p, i)
            self.i = end
            return _Item(self.chars(p[i:end]))
        if ch in "^$":
            self.i += 1
            anchor = ch == "^" and not self.multiline
            return _Item(frozenset(), least=0, most=0, zero=True, anchor=anchor)
        if ch == "(":
            return self.group()
        self.i += 1
        return _Item(self.chars(ch if ch == "." else re.escape(ch)))

    def group(self) -> _Item | None:
        p = self.pattern
        self.i += 1
        zero = False
        if p.startswith("?", self.i):
            rest = p[self.i + 1 :]
            if rest.startswith("#"):  # a comment
                end = p.find(")", self.i)
                self.i = len(p) if end < 0 else end + 1
                return None
            if rest.startswith("P="):  # a named back reference
                end = p.find(")", self.i)
                self.i = len(p) if end < 0 else end + 1
                return _Item(self.alphabet)
            if rest.startswith(("=", "!", "<=", "<!")):
                zero = True
                self.i += 2 if rest[0] in "=!" else 3
            elif rest.startswith(("P<", "<")):
                end = p.find(">", self.i)
                self.i = len(p) if end < 0 else end + 1
            elif rest.startswith("("):  # a conditional: (?(1)yes|no)
                end = p.find(")", self.i)
                self.i = len(p) if end < 0 else end + 1
            else:  # flags: (?i) for the whole pattern, (?i:...), or (?:...), (?>...)
                j = self.i + 1
                while j < len(p) and p[j] in "aiLmsux-":
                    j += 1
                if j < len(p) and p[j] == ")":
                    self.i = j + 1
                    return None
                self.i = j + 1 if j < len(p) and p[j] in ":>" else j
        body = self.alternatives()
        if self.i < len(p) and p[self.i] == ")":
            self.i += 1
        if zero:
            return _Item(frozenset(), least=0, most=0, zero=True, alternatives=body)
        return _Item(_union(body), alternatives=body)

    def quantify(self, item: _Item) -> None:
        """Read the quantifier after `item`, if any, into it."""
        p, i = self.pattern, self.i
        if i >= len(p):
            return
        ch = p[i]
        if ch == "*":
            item.least, item.most, end = 0, None, i + 1
        elif ch == "+":
            item.least, item.most, end = 1, None, i + 1
        elif ch == "?":
            item.least, item.most, end = 0, 1, i + 1
        elif ch == "{":
            braces = _BRACES.match(p, i)
            if braces is None or (not braces.group(1) and not braces.group(2)):
                return  # a literal brace: the next atom
            low, comma, high = braces.groups()
            item.least = int(low) if low else 0
            item.most = item.least if comma is None else (int(high) if high else None)
            end = braces.end()
        else:
            return
        if end < len(p) and p[end] in "?+":  # lazy or possessive
            end += 1
        self.i = end


def _escape_end(p: str, i: int) -> int:
    """Where the escape at `i` ends: \\d, \\x41, \\u00e9, \\U0001f600, \\N{...}, \\12."""
    kind = p[i + 1 : i + 2]
    if kind == "x":
        return min(len(p), i + 4)
    if kind == "u":
        return min(len(p), i + 6)
    if kind == "U":
        return min(len(p), i + 10)
    if kind == "N":
        end = p.find("}", i)
        return len(p) if end < 0 else end + 1
    if kind.isdigit():
        j = i + 2
        while j < len(p) and j < i + 4 and p[j].isdigit():
            j += 1
        return j
    return min(len(p), i + 2)


def _class_end(p: str, i: int) -> int:
    """Where the character class opening at `i` ends (past its "]")."""
    j = i + 1
    if j < len(p) and p[j] == "^":
        j += 1
    if j < len(p) and p[j] == "]":
        j += 1  # a "]" first is a literal
    while j < len(p):
        if p[j] == "\\":
            j += 2
        elif p[j] == "]":
            return j + 1
        else:
            j += 1
    return len(p)
