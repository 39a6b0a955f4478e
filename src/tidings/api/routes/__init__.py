"""One router module per resource; `event_definitions` is the canonical example."""
