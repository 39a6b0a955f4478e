"""Analytics: flow and channel reports over the metric counters."""
