"""An sftp entry against a real SFTP server (asyncssh on loopback, password auth, its
host key pinned), on the virtual clock, on SQLite and PostgreSQL: files imported once by
name and checksum, people created or updated, the valid rows entered, the invalid ones
counted, and a failed poll a row of the import table that never stops the polls."""

from __future__ import annotations

import csv
import io
import time
from datetime import datetime
from pathlib import Path
from typing import Any

import asyncssh
import openpyxl

from tests.conftest import Api
from tests.imports.helpers import (
    advance,
    connect,
    flow,
    imports,
    launch,
    person,
    sms,
)
from tidings.bootstrap import Tidings
from tidings.channels.standins.sftp import SftpStandin, other_host_key
from tidings.store import sftp as sftp_store

HEADER = "externalId,phone,email,firstName,country,coupon,tier\n"
GOOD_AND_BAD = HEADER + (
    "ext-ana,+385911234567,ana@example.com,Ana,hr,C-1,gold\n"  # valid: variable + attribute
    "ext-bo,,not-an-email,Bo,,,\n"  # invalid: a malformed email
    ",12345,,Cy,,,\n"  # invalid: not a phone number
    ",,,Dan,,,\n"  # invalid: no contact
    ",+385 91 123 4568,,Eva,,,silver\n"  # valid: found by phone (new), no variables
    ",,old@example.com,Olga,,,\n"  # valid: the person who has this email, updated
)


def write(server: SftpStandin, name: str, text: str) -> None:
    (Path(server.root) / "in" / name).write_text(text, encoding="utf-8")


def test_a_file_is_imported_its_valid_rows_entered_and_counted(api: Api, sftp: SftpStandin) -> None:
    old = api.post("/people", json={"emails": ["old@example.com"], "firstName": "Old"})
    assert old.status_code in (200, 201), old.text
    connect(api, sftp)
    write(sftp, "a.csv", GOOD_AND_BAD)
    flow_id = launch(api, flow())
    advance(api)

    rows = imports(api, flow_id)
    assert len(rows) == 1
    row = rows[0]
    assert (row["file"], row["connection"], row["error"]) == ("/in/a.csv", "crm", None)
    assert (row["total"], row["valid"], row["invalid"]) == (6, 3, 3)
    assert row["fetchedAt"].endswith("Z")

    ana = person(api, externalId="ext-ana")
    assert ana is not None
    assert ana["firstName"] == "Ana"
    assert ana["country"] == "HR"
    assert ana["phones"] == ["+385911234567"]
    assert ana["attributes"] == {"tier": "gold"}  # not a flow variable: an attribute
    assert "coupon" not in ana["attributes"]  # a flow variable: not on the person
    eva = person(api, phone="+385911234568")
    assert eva is not None
    assert eva["firstName"] == "Eva"
    olga = person(api, email="old@example.com")
    assert olga is not None
    assert olga["id"] == old.json()["id"]  # updated, not created again
    assert olga["firstName"] == "Olga"
    assert person(api, externalId="ext-bo") is None  # an invalid row writes nothing
    everyone = api.get("/people", params={"limit": 100}).json()["items"]
    assert sorted(p["firstName"] for p in everyone) == ["Ana", "Eva", "Olga"]  # no Cy, no Dan

    texts = sorted(m["text"] for m in sms(api, flow_id))
    assert texts == ["Hi Ana C-1", "Hi Eva "]  # the first element ran, with the variable
    performance = api.get(f"/flows/{flow_id}/performance").json()
    assert performance["flow"]["profilesInFlow"] == 3  # Olga entered too (no phone: no SMS)
    api.post(f"/flows/{flow_id}/cancel")


def test_a_new_file_is_imported_on_the_next_poll_and_an_unchanged_one_never_again(
    api: Api, sftp: SftpStandin
) -> None:
    connect(api, sftp)
    write(sftp, "a.csv", HEADER + "ext-1,+385911230001,,One,,,\n")
    write(sftp, "notes.txt", "not a csv")
    flow_id = launch(api, flow(path="/in"))  # a folder: its *.csv files
    advance(api)
    assert [r["file"] for r in imports(api, flow_id)] == ["/in/a.csv"]

    write(sftp, "b.csv", HEADER + "ext-2,+385911230002,,Two,,,\next-3,,three@example.com,,,,\n")
    advance(api, "PT30M")  # not due yet
    assert len(imports(api, flow_id)) == 1
    advance(api, "PT30M")
    rows = imports(api, flow_id)
    assert [r["file"] for r in rows] == ["/in/b.csv", "/in/a.csv"]  # newest first
    assert (rows[0]["total"], rows[0]["valid"]) == (2, 2)
    assert person(api, externalId="ext-3") is not None

    advance(api, "PT3H")  # three polls, nothing new
    assert len(imports(api, flow_id)) == 2
    assert len(sms(api, flow_id)) == 2

    write(sftp, "a.csv", HEADER + "ext-1,+385911230001,,Uno,,,\n")  # same name, changed
    advance(api, "PT1H")
    rows = imports(api, flow_id)
    assert [r["file"] for r in rows] == ["/in/a.csv", "/in/b.csv", "/in/a.csv"]
    one = person(api, externalId="ext-1")
    assert one is not None
    assert one["firstName"] == "Uno"
    api.post(f"/flows/{flow_id}/cancel")


def test_a_wrong_password_is_an_error_row_and_the_polls_go_on(api: Api, sftp: SftpStandin) -> None:
    made = connect(api, sftp, password="wrong-password")
    write(sftp, "a.csv", HEADER + "ext-p,+385911230009,,Pat,,,\n")
    flow_id = launch(api, flow())
    advance(api)
    rows = imports(api, flow_id)
    assert len(rows) == 1
    assert rows[0]["file"] is None
    assert "authentication failed" in rows[0]["error"]
    assert "wrong-password" not in str(rows)
    assert (rows[0]["total"], rows[0]["valid"], rows[0]["invalid"]) == (0, 0, 0)

    advance(api, "PT1H")  # it keeps polling, and keeps failing
    assert len(imports(api, flow_id)) == 2
    fixed = api.patch(f"/sftp-connections/{made['id']}", json={"password": sftp.password})
    assert fixed.status_code == 200, fixed.text
    advance(api, "PT1H")
    rows = imports(api, flow_id)
    assert rows[0]["file"] == "/in/a.csv"
    assert rows[0]["error"] is None
    assert person(api, externalId="ext-p") is not None
    api.post(f"/flows/{flow_id}/cancel")


def test_a_server_whose_host_key_differs_is_refused(api: Api, sftp: SftpStandin) -> None:
    connect(api, sftp, hostKey=other_host_key())
    write(sftp, "a.csv", HEADER + "ext-h,+385911230010,,Hal,,,\n")
    flow_id = launch(api, flow())
    advance(api)
    rows = imports(api, flow_id)
    assert len(rows) == 1
    assert "host key" in rows[0]["error"]
    assert sftp.logins == 0  # no password was sent to it
    assert person(api, externalId="ext-h") is None
    api.post(f"/flows/{flow_id}/cancel")


def test_an_unreachable_server_or_a_missing_path_is_an_error_row(
    api: Api, sftp: SftpStandin, tmp_path: Path
) -> None:
    connect(api, sftp)
    missing = launch(api, flow(path="/nowhere/*.csv"))
    advance(api)
    assert "/nowhere" in imports(api, missing)[0]["error"]
    api.post(f"/flows/{missing}/cancel")
    with SftpStandin(tmp_path / "gone") as gone:
        port = gone.port
    made = api.post(
        "/sftp-connections",
        json={
            "name": "down",
            "host": "127.0.0.1",
            "port": port,
            "username": "x",
            "password": "p",
            "hostKey": sftp.host_key,
        },
    )
    assert made.status_code == 201, made.text
    down = launch(api, flow(name="down"))
    advance(api)
    error = imports(api, down)[0]["error"]
    assert "cannot reach 127.0.0.1" in error
    api.post(f"/flows/{down}/cancel")


def test_the_import_table_exports_as_csv_with_formulas_escaped(
    api: Api, sftp: SftpStandin, system: Tidings
) -> None:
    connect(api, sftp, name="=cmd")  # a name a spreadsheet would run
    write(sftp, "a.csv", HEADER + "ext-c,+385911230011,,Cat,,,\n")
    flow_id = launch(api, flow(name="=cmd"))
    advance(api)
    answer = api.get(f"/flows/{flow_id}/imports", params={"format": "csv"})
    assert answer.status_code == 200
    assert answer.headers["content-type"].startswith("text/csv")
    table = list(csv.reader(io.StringIO(answer.text)))
    assert table[0] == ["fetchedAt", "connection", "file", "total", "valid", "invalid", "error"]
    assert table[1][1:6] == ["'=cmd", "/in/a.csv", "1", "1", "0"]
    with system.db.read() as conn:  # what the reports' `imports` type reads
        header, rows = sftp_store.import_rows(conn, api.account_id, flow_id)
        assert header == table[0]
        assert [row[1:6] for row in rows] == [["=cmd", "/in/a.csv", 1, 1, 0]]
    api.post(f"/flows/{flow_id}/cancel")


def test_the_imports_report_is_the_import_table_as_a_workbook(api: Api, sftp: SftpStandin) -> None:
    connect(api, sftp)
    write(sftp, "a.csv", GOOD_AND_BAD)
    flow_id = launch(api, flow())
    advance(api)
    write(sftp, "b.csv", HEADER + "ext-z,+385911230099,,Zed,,,\n")
    advance(api, "PT1H")
    listed = imports(api, flow_id)
    assert [r["file"] for r in listed] == ["/in/b.csv", "/in/a.csv"]
    asked = api.post("/reports", json={"type": "imports", "flow": flow_id, "format": "xlsx"})
    assert asked.status_code == 202, asked.text
    report: dict[str, Any] = {"status": "pending"}
    deadline = time.monotonic() + 30
    while report["status"] == "pending" and time.monotonic() < deadline:
        time.sleep(0.1)
        report = api.get(f"/reports/{asked.json()['id']}").json()
    assert report["status"] == "ready", report
    answer = api.get(f"/reports/{asked.json()['id']}/file")
    sheet = openpyxl.load_workbook(io.BytesIO(answer.content), read_only=True)["Imports"]
    rows = [list(r) for r in sheet.iter_rows(values_only=True)]
    assert rows[0] == ["fetchedAt", "connection", "file", "total", "valid", "invalid", "error"]
    assert [r[1:6] for r in rows[1:]] == [
        [r["connection"], r["file"], r["total"], r["valid"], r["invalid"]] for r in listed
    ]
    assert isinstance(rows[1][0], datetime)  # a real date in the workbook
    api.post(f"/flows/{flow_id}/cancel")


def test_a_private_key_logs_in_and_a_key_the_server_does_not_know_is_refused(
    api: Api, tmp_path: Path
) -> None:
    """Key authentication against the real server: the connection holds the private key
    (no password), the server knows its public key; another key is refused."""
    key = asyncssh.generate_private_key("ssh-ed25519")
    stranger = asyncssh.generate_private_key("ssh-ed25519")
    (tmp_path / "in").mkdir()
    public = key.export_public_key().decode().strip()
    with SftpStandin(tmp_path, username="crm", authorized_keys=[public]) as server:
        made = connect(
            api,
            server,
            password=None,
            privateKey=stranger.export_private_key().decode(),
        )
        assert (made["password"], made["privateKey"]) == (None, "set")
        write(server, "a.csv", HEADER + "ext-key,+385911230077,,Kim,,,\n")
        flow_id = launch(api, flow())
        advance(api)
        rows = imports(api, flow_id)
        assert "authentication failed" in rows[0]["error"]
        assert server.logins == 0

        fixed = api.patch(
            f"/sftp-connections/{made['id']}",
            json={"privateKey": key.export_private_key().decode()},
        )
        assert fixed.status_code == 200, fixed.text
        assert "PRIVATE KEY" not in fixed.text
        advance(api, "PT1H")
        rows = imports(api, flow_id)
        assert (rows[0]["file"], rows[0]["error"], rows[0]["valid"]) == ("/in/a.csv", None, 1)
        assert server.logins == 1
        assert person(api, externalId="ext-key") is not None
        api.post(f"/flows/{flow_id}/cancel")


def test_a_paused_flow_does_not_poll_and_fetches_what_waits_when_resumed(
    api: Api, sftp: SftpStandin
) -> None:
    connect(api, sftp)
    flow_id = launch(api, flow())
    advance(api)
    assert [r["file"] for r in imports(api, flow_id)] == []  # polled: nothing there yet
    assert api.post(f"/flows/{flow_id}/pause").status_code == 200
    write(sftp, "a.csv", HEADER + "ext-z,+385911230055,,Zoe,,,\n")
    logins = sftp.logins
    advance(api, "PT3H")
    assert sftp.logins == logins  # paused: the server is not even asked
    assert imports(api, flow_id) == []
    assert person(api, externalId="ext-z") is None

    assert api.post(f"/flows/{flow_id}/resume").status_code == 200
    advance(api)  # the poll that fell due while paused comes at once
    rows = imports(api, flow_id)
    assert [(r["file"], r["valid"]) for r in rows] == [("/in/a.csv", 1)]
    assert len(sms(api, flow_id)) == 1
    api.post(f"/flows/{flow_id}/cancel")


def test_a_large_file_is_checked_beside_the_engine_and_reads_as_a_small_one(
    api: Api, sftp: SftpStandin
) -> None:
    """A file over a megabyte is checked in a process of its own, in slices of 10,000
    records (engine/import_checks.py): a quoted cell across lines, a blank line, invalid
    rows and one person named on both sides of a slice's end read as in a small file."""
    lines = [HEADER]
    for i in range(25_000):
        if i == 9_999:
            lines.append(f'ext-{i},+38591{i:07d},,"Two\nlines, and a comma",,,\n')
        elif i == 10_001:
            lines.append("ext-5,+385910000005,,Later,,,\n")  # ext-5 again: later wins
        elif i % 1000 == 7:
            lines.append(f"ext-{i},12345,,Bad,,,\n")  # not a phone number: invalid
        elif i == 15_000:
            lines.append("\n")  # a blank line is no row
        else:
            lines.append(f"ext-{i},+38591{i:07d},user{i}@example.com,Name{i},,,\n")
    text = "".join(lines)
    assert len(text.encode()) > 1 << 20
    connect(api, sftp)
    write(sftp, "big.csv", text)
    document = flow()
    document["elements"] = [
        {"id": "w", "type": "wait_for_event", "event": "Ping", "timeout": "P30D"}
    ]
    api.post("/event-definitions", json={"name": "Ping"})
    flow_id = launch(api, document)
    advance(api)

    rows = imports(api, flow_id)
    assert (rows[0]["total"], rows[0]["valid"], rows[0]["invalid"], rows[0]["error"]) == (
        24_999,
        24_974,
        25,
        None,
    )
    two = person(api, externalId="ext-9999")
    assert two is not None
    assert two["firstName"] == "Two\nlines, and a comma"
    five = person(api, externalId="ext-5")
    assert five is not None
    assert five["firstName"] == "Later"
    assert person(api, externalId="ext-7") is None
    assert person(api, externalId="ext-24999") is not None
    performance = api.get(f"/flows/{flow_id}/performance").json()
    assert performance["flow"]["profilesInFlow"] == 24_973  # ext-5 twice: one person
    api.post(f"/flows/{flow_id}/cancel")
