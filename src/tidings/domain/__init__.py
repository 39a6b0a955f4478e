"""The pure core: rules and data, no I/O, no clock reads (time is an argument)."""
