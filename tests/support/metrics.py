"""Reading Prometheus text as a scraper does (prometheus-client's own parser)."""

from __future__ import annotations

from prometheus_client.parser import text_string_to_metric_families

Samples = dict[tuple[str, frozenset[tuple[str, str]]], float]


def parse(text: str) -> Samples:
    """{(sample name, labels): value} of an exposition."""
    return {
        (sample.name, frozenset(sample.labels.items())): sample.value
        for family in text_string_to_metric_families(text)
        for sample in family.samples
    }


def value(samples: Samples, name: str, **labels: str) -> float:
    """One sample's value; a missing sample fails the test with what is there."""
    key = (name, frozenset(labels.items()))
    assert key in samples, f"no sample {name}{labels} in {sorted(n for n, _ in samples)}"
    return samples[key]
