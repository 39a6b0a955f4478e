"""Element handlers, one module per element family, registered by element type:

- `messages`: send_sms, send_email, send_whatsapp, send_viber
- `calls`: voice_call, failover (sends that wait for their outcome)
- `waits`: wait, wait_for_event
- `branches`: segment, split, evaluate_inbound, exit
- `actions`: update_profile, update_variable, call_api, add_to_flow, notify, catalog_lookup
"""

from tidings.domain.journey.elements import actions, branches, calls, messages, waits
from tidings.domain.journey.elements.base import BUILDERS, Handler, build

__all__ = ["BUILDERS", "Handler", "actions", "branches", "build", "calls", "messages", "waits"]
