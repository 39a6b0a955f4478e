"""Use cases: what Tidings does, as functions of one connection that both `api/` and
`cli/` call (see AGENTS.md). `flows` (create, edit, validate, launch, pause/resume/cancel,
versions, duplicates, audience changes) and `flow_views`, `templates`, `people`,
`participants` (the Flow API entry), `ingest` (events), `sandbox`; `items` holds the
per-item answer of one-by-one batches."""
