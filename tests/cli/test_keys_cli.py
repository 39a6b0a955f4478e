"""`tidings keys create | list` on the database: a key printed once, listed without it."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from tidings.store.accounts import ensure_default_account, resolve_key
from tidings.store.database import Database


def tidings(*args: str, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "tidings", *args],
        env={**os.environ, **env},
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


def test_keys_create_then_list_shows_the_keys_without_their_secrets(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 't.db'}"
    db = Database(url=url)
    db.migrate()
    with db.write_engine.begin() as conn:
        ensure_default_account(conn, api_key="tdk_first_key_of_the_default_account", now=0)
    env = {"TIDINGS_DATABASE_URL": url}
    created = tidings("keys", "create", "--account", "1", "--name", "backend", env=env)
    assert created.returncode == 0, created.stderr
    key = created.stdout.strip()
    assert key.startswith("tdk_")
    admin = tidings("keys", "create", "--account", "1", "--name", "ops", "--admin", env=env)
    assert admin.returncode == 0, admin.stderr
    with db.read() as conn:
        owner = resolve_key(conn, key)
        second = resolve_key(conn, admin.stdout.strip())
    assert owner is not None
    assert (owner.account_id, owner.admin) == (1, False)
    assert second is not None
    assert (second.account_id, second.admin) == (1, True)
    db.close()
    listed = tidings("keys", "list", "--account", "1", env=env)
    assert listed.returncode == 0, listed.stderr
    lines = [line.split("\t") for line in listed.stdout.splitlines()]
    assert [(line[1], line[2]) for line in lines] == [
        ("TIDINGS_API_KEY", "admin"),
        ("backend", "-"),
        ("ops", "admin"),
    ]
    assert key not in listed.stdout
    assert admin.stdout.strip() not in listed.stdout
    unknown = tidings("keys", "list", "--account", "9", env=env)
    assert unknown.returncode == 1
    assert "account 9 does not exist" in unknown.stderr + unknown.stdout
