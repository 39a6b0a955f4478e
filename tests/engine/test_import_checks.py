"""A large imported file is checked in a child process (engine/import_checks.py): it
answers what checking in this process answers; when it dies, this process checks the rest
of the file, and the next large file starts another child."""

from __future__ import annotations

from tidings.domain.imports import check_slice, columns_of, split_csv
from tidings.engine import import_checks
from tidings.engine.import_checks import checked_rows


def _file(rows: int) -> bytes:
    lines = ["externalId,phone,email,firstName\n"]
    for i in range(rows):
        phone = "12345" if i % 97 == 0 else f"+38591{i:07d}"  # every 97th is invalid
        lines.append(f'p{i},{phone},user{i}@example.com,"Name, {i}"\n')
    return "".join(lines).encode()


def test_the_child_answers_what_this_process_answers() -> None:
    data = _file(30_000)
    assert len(data) > import_checks.INLINE_BYTES
    columns = columns_of(["externalId", "phone", "email", "firstName"], {}, {})
    _, delimiter, slices = split_csv(data, 10_000)
    here = [check_slice(text, delimiter, columns) for text in slices]
    there = list(checked_rows(data, columns, 10_000))
    assert there == here
    assert [total for total, _ in there] == [10_000, 10_000, 10_000]
    assert sum(len(valid) for _, valid in there) == 30_000 - len(range(0, 30_000, 97))


def test_a_child_that_died_leaves_the_rest_to_this_process_and_the_next_file_starts_another() -> (
    None
):
    data = _file(30_000)
    columns = columns_of(["externalId", "phone", "email", "firstName"], {}, {})
    _, delimiter, slices = split_csv(data, 10_000)
    here = [check_slice(text, delimiter, columns) for text in slices]
    rows = checked_rows(data, columns, 10_000)
    first = next(rows)
    child = import_checks._CHECKER._child
    assert child is not None
    child.kill()
    assert [first, *rows] == here  # nothing lost, nothing twice
    assert list(checked_rows(data, columns, 10_000)) == here
    again = import_checks._CHECKER._child
    assert again is not None
    assert again is not child
    assert again.poll() is None
