"""Analytics: read models over what the engine counts (`flow_counters`,
`element_visits`, participations). `performance.py` answers a flow's performance;
reports (per channel, over time) belong here too, beside it."""
