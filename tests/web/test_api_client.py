"""The web app's typed client matches the API it calls: `web/src/api/schema.d.ts` is what
`make web-api` generates from the API's OpenAPI document today, and
`web/src/api/flow-schema.json` (the flow JSON Schema the editor's catalogue is tested
against, `catalogue.test.ts`) is what `GET /schema/flow` answers. A change of a path, a
parameter or a body that the client was not regenerated for fails here (and, once
regenerated, in `tsc` wherever the app used the old shape)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
WEB = ROOT / "web"


def test_the_committed_api_client_is_generated_from_the_api_of_today(tmp_path: Path) -> None:
    spec = tmp_path / "openapi.json"
    with spec.open("w") as out:
        subprocess.run(
            [sys.executable, str(WEB / "scripts" / "dump_openapi.py")], stdout=out, check=True
        )
    generated = tmp_path / "schema.d.ts"
    subprocess.run(
        ["npx", "--no-install", "openapi-typescript", str(spec), "-o", str(generated)],
        cwd=WEB,
        check=True,
        capture_output=True,
    )
    committed = (WEB / "src" / "api" / "schema.d.ts").read_text()
    assert generated.read_text() == committed, (
        "web/src/api/schema.d.ts is stale: run `make web-api`, then `make web` (tsc shows "
        "where the app used the old shape)"
    )


def test_the_committed_flow_schema_is_the_one_the_api_serves() -> None:
    served = subprocess.run(
        [sys.executable, str(WEB / "scripts" / "dump_flow_schema.py")],
        check=True,
        capture_output=True,
        text=True,
    ).stdout
    committed = (WEB / "src" / "api" / "flow-schema.json").read_text()
    assert served == committed, "web/src/api/flow-schema.json is stale: run `make web-api`"
