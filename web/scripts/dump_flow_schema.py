"""Print the JSON Schema of flow documents (what `GET /api/v1/schema/flow` answers).

`make web-api` writes it to web/src/api/flow-schema.json, where the editor's tests check the
canvas catalogue (every element and entry type, every field, every choice) against it.
"""

from __future__ import annotations

import json
import sys

from tidings.api.routes.templates import flow_json_schema

json.dump(flow_json_schema(), sys.stdout, indent=1, sort_keys=True)
sys.stdout.write("\n")
