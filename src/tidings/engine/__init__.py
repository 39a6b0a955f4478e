"""The journey engine (the step function over batches; see DESIGN.md)."""
