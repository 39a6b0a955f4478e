"""Flow documents: the model, its canonical form, validation and summaries.

parse_document(data) -> FlowDocument        shape errors as InvalidInput
load_text(text, filename) -> FlowDocument   JSON or YAML
canonical_json(doc) -> str                  stable export
validate(doc, ctx) -> list[Problem]         everything wrong before launch
with_exits(doc) -> FlowDocument             exits on every open branch
describe_entry(doc), describe_reentry(doc), channels_used(doc)
flow_json_schema() -> dict                  the published JSON Schema
"""

from tidings.domain.flows.canonical import canonical_data, canonical_json, load_text
from tidings.domain.flows.context import ValidationContext
from tidings.domain.flows.document import (
    ELEMENT_TYPES,
    Element,
    ElementType,
    FlowDocument,
    flow_json_schema,
    parse_document,
)
from tidings.domain.flows.graph import busy_loops, reachable, with_exits
from tidings.domain.flows.summary import channels_used, describe_entry, describe_reentry
from tidings.domain.flows.validate import validate

__all__ = [
    "ELEMENT_TYPES",
    "Element",
    "ElementType",
    "FlowDocument",
    "ValidationContext",
    "busy_loops",
    "canonical_data",
    "canonical_json",
    "channels_used",
    "describe_entry",
    "describe_reentry",
    "flow_json_schema",
    "load_text",
    "parse_document",
    "reachable",
    "validate",
    "with_exits",
]
