"""The set-based paths: people a stimulus moves alike are moved with a few statements
per cohort, before the general path steps anyone alone. One door (`run`), one narrow
context (`Context`); each path in its module:

- timers.py: due timers at elements where the timer moves everyone alike;
- events.py: plain awaited events;
- audience.py: audience entries (their SMS composed by the store: sql_sends.py);
- event_entries.py: entries on events, along proved paths (in flight across rounds:
  in_flight.py);
- reports.py: delivery reports for people who wait nowhere;
- moves.py: a cohort's move written for all its people (shared by the paths).
"""

from tidings.engine.bulk.chain import run, settle
from tidings.engine.bulk.context import Context, Tally
from tidings.engine.bulk.in_flight import InFlight

__all__ = ["Context", "InFlight", "Tally", "run", "settle"]
