"""The README's tour works as written, against a real `tidings serve` process."""

from __future__ import annotations

import json
import re
import subprocess
from pathlib import Path
from typing import Any

from tidings.bench.server import running_server

README = Path(__file__).parents[2] / "README.md"


def tour() -> str:
    text = README.read_text()
    section = text.split("## A two-minute tour", 1)[1]
    match = re.search(r"```sh\n(.*?)```", section, re.S)
    assert match is not None
    return match.group(1)


def json_stream(text: str) -> list[dict[str, Any]]:
    """curl prints bodies back to back; split them into documents."""
    decoder = json.JSONDecoder()
    out, position = [], 0
    while position < len(text):
        if text[position].isspace():
            position += 1
            continue
        value, position = decoder.raw_decode(text, position)
        out.append(value)
    return out


def test_the_readme_opens_with_make_run_and_make_test() -> None:
    first_block = re.search(r"```sh\n(.*?)```", README.read_text(), re.S)
    assert first_block is not None
    commands = [line.split("#")[0].strip() for line in first_block.group(1).splitlines()]
    assert commands[:2] == ["make run", "make test"]


def test_the_tour_runs_as_written(tmp_path: Path) -> None:
    with running_server() as server:
        (tmp_path / ".tidings-api-key").write_text(server.key + "\n")
        script = tour().replace("http://127.0.0.1:8000", f"http://127.0.0.1:{server.port}")
        done = subprocess.run(
            ["bash", "-euo", "pipefail", "-c", script],
            cwd=tmp_path,
            capture_output=True,
            text=True,
            timeout=60,
            check=False,
        )
    assert done.returncode == 0, done.stderr + done.stdout
    answers = json_stream(done.stdout)
    definition, person, accepted, people, history = answers
    assert definition["name"] == "CartAbandoned"
    assert person["externalId"] == "p1"
    assert person["phones"] == ["+385911234567"]
    assert accepted == {"items": [{"status": "accepted"}]}
    assert people["items"][0]["firstName"] == "Ana"
    assert [e["properties"] for e in history["items"]] == [{"cartValue": 80}]
