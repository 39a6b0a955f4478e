"""`tidings flows export | import | validate`: flows as files, byte-for-byte stable."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import yaml
from typer.testing import CliRunner

from tidings.cli.main import app
from tidings.services.templates import predefined

runner = CliRunner()


@pytest.fixture
def env(tmp_path: Path) -> dict[str, str]:
    return {"TIDINGS_DATABASE_URL": f"sqlite:///{tmp_path / 'cli.db'}"}


def tidings(env: dict[str, str], *args: str) -> tuple[int, str, str]:
    result = runner.invoke(app, list(args), env=env)
    return result.exit_code, result.stdout, result.stderr


def seed_account(env: dict[str, str]) -> None:
    from tidings.store.accounts import ensure_default_account
    from tidings.store.database import Database

    db = Database(url=env["TIDINGS_DATABASE_URL"])
    db.migrate()
    with db.write_engine.begin() as conn:
        ensure_default_account(conn, api_key="tdk_cli", now=0)
    db.close()


@pytest.mark.parametrize("name", sorted(predefined()))
def test_every_template_round_trips_byte_for_byte(
    env: dict[str, str], tmp_path: Path, name: str
) -> None:
    seed_account(env)
    source = tmp_path / f"{name}.json"
    source.write_text(json.dumps(predefined()[name]["document"]))
    code, out, err = tidings(env, "flows", "import", str(source))
    assert code == 0, err
    first = tidings(env, "flows", "export", out.strip())[1]
    exported = tmp_path / "exported.json"
    exported.write_text(first)
    code, again_id, _ = tidings(env, "flows", "import", str(exported))
    assert code == 0
    second = tidings(env, "flows", "export", again_id.strip())[1]
    assert second == first
    assert first.endswith("}\n")
    assert json.loads(first)["name"]
    as_yaml = tmp_path / "flow.yaml"
    as_yaml.write_text(yaml.safe_dump(json.loads(first)))
    yaml_id = tidings(env, "flows", "import", str(as_yaml))[1]
    assert tidings(env, "flows", "export", yaml_id.strip())[1] == first


def test_validate_without_a_server(env: dict[str, str], tmp_path: Path) -> None:
    template = predefined()["cart-abandonment"]
    flow = tmp_path / "cart.json"
    flow.write_text(json.dumps(template["document"]))
    context = tmp_path / "context.json"
    context.write_text(json.dumps({"events": template["events"]}))
    code, out, _ = tidings(env, "flows", "validate", str(flow), "--context", str(context))
    assert code == 0
    assert out.strip() == "no problems"
    code, out, err = tidings(env, "flows", "validate", str(flow))
    assert code == 1
    assert "CartAbandoned" in out
    assert "problem" in err


def test_validate_prints_the_same_problems_as_the_api(env: dict[str, str], tmp_path: Path) -> None:
    from tests.api.flows.helpers import cart

    broken = cart(name="")
    broken["elements"][0]["from"] = None
    flow = tmp_path / "broken.json"
    flow.write_text(json.dumps(broken))
    context = tmp_path / "context.json"
    context.write_text(
        json.dumps({"events": {"CartAbandoned": {"cartValue": "decimal"}, "PurchaseFinished": {}}})
    )
    code, out, _ = tidings(env, "flows", "validate", str(flow), "--context", str(context))
    assert code == 1
    from tidings.cli.flows import context_from_file
    from tidings.domain.flows import load_text, validate

    expected = [
        f"{' '.join(x for x in (p.element, p.field) if x)}: {p.message}"
        for p in validate(load_text(flow.read_text(), "broken.json"), context_from_file(context))
    ]
    assert out.strip().splitlines() == expected
    assert any(line.startswith("name:") for line in expected)
    assert any(line.startswith("sms1 from:") for line in expected)


def test_bad_files_fail_clearly(env: dict[str, str], tmp_path: Path) -> None:
    seed_account(env)
    bad = tmp_path / "bad.json"
    bad.write_text('{"name": "x", "elements": [{"id": "a", "type": "teleport"}]}')
    code, _, err = tidings(env, "flows", "validate", str(bad))
    assert code == 1
    assert "a type" in err or "type" in err
    code, _, err = tidings(env, "flows", "import", str(bad))
    assert code == 1
    not_json = tmp_path / "oops.json"
    not_json.write_text("{nope")
    assert tidings(env, "flows", "import", str(not_json))[0] == 1
    assert tidings(env, "flows", "export", "999")[0] == 1
