"""The per-source connection budget, driven without sockets (IoT-1005-1 5.6.1.1)."""

from __future__ import annotations

import pytest

from vigilcam.listeners.budget import ConnectionBudget
from vigilcam.platform.config import ListenerSettings


def test_per_source_cap_leaves_room_for_others() -> None:
    budget = ConnectionBudget(per_source=3, max_total=12)
    tickets = [budget.admit("127.0.0.2") for _ in range(5)]
    assert sum(t is not None for t in tickets) == 3
    assert budget.refused == {"source": 2, "total": 0}
    assert budget.admit("127.0.0.3") is not None
    assert budget.total == 4


def test_ipv6_grouped_by_64_and_mapped_ipv4_is_ipv4() -> None:
    budget = ConnectionBudget(per_source=2, max_total=8)
    assert budget.admit("2001:db8::1") and budget.admit("2001:db8::ffff:2")
    assert budget.admit("2001:db8::3") is None  # same /64
    assert budget.admit("2001:db8:0:1::1") is not None  # another /64
    assert budget.admit("::ffff:10.0.0.1") and budget.admit("10.0.0.1")
    assert budget.open_from("10.0.0.1") == 2 and budget.admit("10.0.0.1") is None


def test_total_cap_and_release_is_idempotent() -> None:
    budget = ConnectionBudget(per_source=2, max_total=3)
    a, b, c = budget.admit("10.0.0.1"), budget.admit("10.0.0.2"), budget.admit("10.0.0.3")
    assert a and b and c
    assert budget.admit("10.0.0.4") is None and budget.refused["total"] == 1
    a.release()
    a.release()
    assert budget.total == 2 and budget.open_from("10.0.0.1") == 0
    assert budget.admit("10.0.0.4") is not None
    assert budget.admit("10.0.0.5") is None


def test_settings_keep_per_source_well_below_total() -> None:
    with pytest.raises(ValueError, match="quarter"):
        ListenerSettings(https_per_source=200, https_max=512)
    with pytest.raises(ValueError, match="quarter"):
        ListenerSettings(rtsps_per_source=64, rtsps_max=128)  # the old RTSPS numbers
    limits = ListenerSettings()
    assert limits.https_per_source * 4 <= limits.https_max
    assert limits.rtsps_per_source * 4 <= limits.rtsps_max
