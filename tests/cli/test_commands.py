"""The `tidings` command: migrate, keys create, and serve's first start and stop."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

from tidings.bench.server import free_port


def tidings(*args: str, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "tidings", *args],
        env={**os.environ, **env},
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


def test_migrate_then_keys_create_gives_a_working_key(tmp_path: Path) -> None:
    env = {"TIDINGS_DATABASE_URL": f"sqlite:///{tmp_path / 't.db'}"}
    migrated = tidings("migrate", env=env)
    assert migrated.returncode == 0, migrated.stderr
    # No account exists before the first serve: the command says so instead of crashing.
    orphan = tidings("keys", "create", env=env)
    assert orphan.returncode != 0
    assert "account 1 does not exist" in orphan.stderr + orphan.stdout


def test_first_serve_prints_a_generated_key_that_works(tmp_path: Path) -> None:
    port = free_port()
    env = {**os.environ, "TIDINGS_DATABASE_URL": f"sqlite:///{tmp_path / 't.db'}"}
    env.pop("TIDINGS_API_KEY", None)
    log = tmp_path / "serve.log"
    with log.open("w") as out:
        server = subprocess.Popen(
            [sys.executable, "-m", "tidings", "serve", "--port", str(port)],
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
        )
    try:
        key = ""
        for _ in range(200):
            text = log.read_text()
            if "tdk_" in text and f"127.0.0.1:{port}" in text:
                key = "tdk_" + text.split("tdk_", 1)[1].split()[0]
                break
            time.sleep(0.1)
        assert key, log.read_text()
        for _ in range(100):
            try:
                request = urllib.request.Request(
                    f"http://127.0.0.1:{port}/api/v1/account",
                    headers={"Authorization": f"Bearer {key}"},
                )
                with urllib.request.urlopen(request, timeout=2) as answer:
                    assert answer.status == 200
                    break
            except OSError:
                time.sleep(0.1)
        else:
            raise AssertionError("the server never answered")
        made = tidings(
            "keys",
            "create",
            "--name",
            "ops",
            env={"TIDINGS_DATABASE_URL": env["TIDINGS_DATABASE_URL"]},
        )
        assert made.returncode == 0, made.stderr
        assert made.stdout.strip().startswith("tdk_")
    finally:
        server.terminate()
        server.wait(timeout=20)
    # SIGTERM stops it cleanly: the store is closed, and SQLite removed its WAL file
    assert server.returncode == 128 + signal.SIGTERM, log.read_text()
    assert not (tmp_path / "t.db-wal").exists()


def test_a_database_that_cannot_be_reached_is_one_line_without_the_password(
    tmp_path: Path,
) -> None:
    """Nothing listens at the URL's port, or the SQLite file's folder does not exist:
    each command says so in one line (the URL with its password hidden, the driver's
    reason) and exits 1, instead of a page of traceback."""
    closed = free_port()
    urls = {
        f"postgresql+psycopg://tidings:s3cret-pw@127.0.0.1:{closed}/tidings": (
            f"postgresql+psycopg://tidings:***@127.0.0.1:{closed}/tidings",
            "Connection refused",
        ),
        f"sqlite:///{tmp_path / 'missing' / 't.db'}": (
            f"sqlite:///{tmp_path / 'missing' / 't.db'}",
            "unable to open database file",
        ),
    }
    for url, (shown, reason) in urls.items():
        for command in (["migrate"], ["serve", "--port", str(free_port())], ["keys", "list"]):
            done = tidings(*command, env={"TIDINGS_DATABASE_URL": url})
            said = done.stderr + done.stdout
            assert done.returncode == 1, (command, said)
            assert f"tidings: cannot reach the database {shown}: " in said, (command, said)
            assert reason in said, (command, said)
            assert "Traceback" not in said
            assert "s3cret-pw" not in said
            assert len(said.strip().splitlines()) == 1, said
    assert not (tmp_path / "missing").exists()
