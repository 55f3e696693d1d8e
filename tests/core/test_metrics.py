"""core/metrics.py: labels stay few, whatever clients send."""

from __future__ import annotations

import pytest
from prometheus_client.parser import text_string_to_metric_families

from core import metrics


def test_operation_names_are_lower_case_and_bounded(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(metrics, "_operations", set())
    assert metrics.operation_label("RunScript") == "runscript"
    assert metrics.operation_label(None) == "anonymous"
    assert metrics.operation_label("no spaces please") == "invalid"
    assert metrics.operation_label("x" * 65) == "invalid"
    names = [f"op{i}" for i in range(metrics.MAX_OPERATION_NAMES * 2)]
    labels = {metrics.operation_label(name) for name in names}
    assert len(labels) == metrics.MAX_OPERATION_NAMES
    assert "other" in labels  # "runscript" took one of the places
    assert metrics.operation_label("RUNSCRIPT") == "runscript"  # known names stay


def test_the_exposition_adds_values_read_at_scrape_time() -> None:
    text = metrics.exposition([("scriptbox_queue_depth", "queued", 7.0)]).decode()
    families = {family.name: family for family in text_string_to_metric_families(text)}
    assert families["scriptbox_queue_depth"].samples[0].value == 7.0
    assert "scriptbox_executions" in families
    assert all(name.startswith("scriptbox_") for name in families), sorted(families)
