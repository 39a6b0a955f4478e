"""Print the API's OpenAPI document (what `/api/v1/openapi.json` answers), no server needed.

`make web-api` feeds it to openapi-typescript, which writes web/src/api/schema.d.ts.
"""

from __future__ import annotations

import json
import sys
import tempfile
from pathlib import Path

from tidings.bootstrap import build
from tidings.config import Settings

with tempfile.TemporaryDirectory() as folder:
    url = f"sqlite:///{Path(folder) / 'openapi.db'}"
    system = build(Settings(database_url=url, clock="virtual"))
    try:
        json.dump(system.app.openapi(), sys.stdout, indent=1, sort_keys=True)
    finally:
        system.close()
