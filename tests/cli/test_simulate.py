"""`tidings simulate`: a flow run on a virtual clock in a throwaway store, as a team's CI
would run it (a subprocess, files in, text or JSON out, the exit status)."""

from __future__ import annotations

import json
import os
import re
import shlex
import subprocess
import sys
from pathlib import Path
from typing import Any

README = Path(__file__).parents[2] / "README.md"

WELCOME: dict[str, Any] = json.loads(
    (README.parent / "docs" / "examples" / "welcome.flow.json").read_text()
)

STORE: dict[str, Any] = {
    "name": "Store alert",
    "entry": {"type": "api"},
    "variables": [
        {"name": "due", "type": "date", "default": 'dateAdd(today(), 2, "days")'},
        {"name": "greeting", "type": "text", "default": 'concat("Hi ", person.firstName)'},
    ],
    "elements": [
        {
            "id": "sms1",
            "type": "send_sms",
            "from": "Shop",
            "text": "{{ greeting }}, pick up by {{ due }}",
            "next": "boss",
        },
        {
            "id": "boss",
            "type": "notify",
            "channel": "sms",
            "from": "Alerts",
            "to": "person.storeManagerPhone",
            "text": "{{ person.firstName }} has an order due {{ due }}",
        },
    ],
}


def simulate(tmp_path: Path, flow: dict[str, Any], *args: str) -> subprocess.CompletedProcess[str]:
    file = tmp_path / "flow.json"
    file.write_text(json.dumps(flow))
    env = {k: v for k, v in os.environ.items() if not k.startswith("TIDINGS_")}
    return subprocess.run(
        [sys.executable, "-m", "tidings", "simulate", str(file), *args],
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
        cwd=tmp_path,
    )


def test_the_readme_example_prints_what_the_readme_shows() -> None:
    text = README.read_text()
    section = text.split("## Testing a flow: `tidings simulate`", 1)[1]
    command = re.search(r"```sh\n(.*?)```", section, re.S)
    shown = re.search(r"```text\n(.*?)```", section, re.S)
    assert command is not None
    assert shown is not None
    args = shlex.split(command.group(1).replace("\\\n", " "))
    assert args[:2] == ["tidings", "simulate"]
    env = {k: v for k, v in os.environ.items() if not k.startswith("TIDINGS_")}
    run = subprocess.run(
        [sys.executable, "-m", "tidings", *args[1:]],
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
        cwd=README.parent,
    )
    assert run.returncode == 0, run.stderr
    assert run.stdout == shown.group(1)  # the same run gives the same output, every time
    out = run.stdout
    assert "refused alreadyInFlow 1" in out  # p3 signed up again while inside
    table = out.split("\n\n")[1].splitlines()[1:]
    rows = {line.split()[0]: line.split()[1:5] for line in table}
    assert rows["welcome"] == ["send_sms", "20", "20", "20"]  # p2's "free" signup: no entry
    thanks, nudge = int(rows["thanks"][1]), int(rows["nudge"][1])
    assert thanks + nudge == 20
    assert 0 < thanks < 20  # 80 % see, half of them click: decided per message


def test_json_for_ci_with_people_from_a_file(tmp_path: Path) -> None:
    people = tmp_path / "people.csv"
    people.write_text(
        "externalId,firstName,phone,storeManagerPhone,visits\n"
        "a,Ana,+385911111111,+385919999999,3\n"
        "b,Ivo,+385912222222,,1\n"
    )
    run = simulate(
        tmp_path,
        STORE,
        "--people-file",
        str(people),
        "--days",
        "1",
        "--json",
        "--timezone",
        "Pacific/Auckland",
        "--start",
        "2026-03-01T12:00:00Z",
    )
    assert run.returncode == 0, run.stderr
    result = json.loads(run.stdout)
    assert result["valid"] is True
    assert result["people"] == 2
    assert result["start"] == "2026-03-01T12:00:00Z"
    assert result["performance"]["profilesInFlow"] == 2
    assert result["performance"]["messagesSent"] == 2  # to the people; the alert is not one
    elements = {e["id"]: e for e in result["elements"]}
    assert elements["sms1"]["messagesSent"] == 2
    assert elements["boss"]["messagesSent"] == 1  # Ivo's store has no manager number
    assert elements["boss"]["uniqueEngagements"] == 2
    samples = {s["element"]: s for s in result["samples"]}
    # 12:00Z on 1 March is 2 March in Auckland: today() reads the account's zone
    assert samples["sms1"]["text"] == "Hi Ana, pick up by 2026-03-04"
    assert samples["boss"] == {
        "element": "boss",
        "channel": "sms",
        "to": "+385919999999",
        "from": "Alerts",
        "text": "Ana has an order due 2026-03-04",
        "parts": 1,
    }


def test_a_flow_that_does_not_validate_exits_non_zero(tmp_path: Path) -> None:
    broken = {**WELCOME, "elements": [{**WELCOME["elements"][0], "next": "nowhere"}]}
    run = simulate(tmp_path, broken, "--people", "1", "--days", "1")
    assert run.returncode == 1
    assert "welcome next: leads to 'nowhere'" in run.stderr
    assert "unknown event property 'event.plan'" in run.stderr  # no --events, no --context
    assert "hint: event properties" in run.stderr
    context = tmp_path / "context.json"
    context.write_text(json.dumps({"events": {"Signup": {"plan": "text"}}}))
    run = simulate(tmp_path, broken, "--days", "1", "--context", str(context), "--json")
    assert run.returncode == 1
    assert json.loads(run.stdout) == {
        "valid": False,
        "problems": [
            {
                "element": "welcome",
                "field": "next",
                "message": "leads to 'nowhere', which is not an element of this flow",
            }
        ],
    }


def test_bad_input_files_exit_with_two_and_say_where(tmp_path: Path) -> None:
    events = tmp_path / "events.jsonl"
    events.write_text('{"person": "p1", "name": "Signup"}\n{"person": "p1", "at": "soon"}\n')
    run = simulate(tmp_path, WELCOME, "--events", str(events))
    assert run.returncode == 2
    assert "events.jsonl line 2" in run.stderr


def test_the_persons_own_ids_render(tmp_path: Path) -> None:
    flow = {
        "name": "Ids",
        "entry": {"type": "api"},
        "elements": [
            {
                "id": "s",
                "type": "send_sms",
                "from": "S",
                "text": "Hi {{ person.externalId }} #{{ person.id }}",
            }
        ],
    }
    run = simulate(tmp_path, flow, "--people", "1", "--days", "1", "--json")
    assert run.returncode == 0, run.stderr
    samples = json.loads(run.stdout)["samples"]
    assert [s["text"] for s in samples] == ["Hi p1 #1"]
