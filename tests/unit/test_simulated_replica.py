"""The simulated replica keeps its slots on its own ideal clock: a request starts when it
arrives or when the first slot frees up, and holds that slot for exactly its service time,
however late this busy machine wakes its threads (tests/servers.py)."""

from __future__ import annotations

import pytest

from tests.servers import SimulatedReplica


def test_slots_are_reserved_first_come_first_served_on_the_ideal_clock():
    now = [100.0]
    replica = SimulatedReplica(slots=2, prefill_s=0.02, token_s=0.01, tokens=3)
    replica.clock = lambda: now[0]
    try:
        service = replica.service_s(3)
        starts = [replica.reserve_slot(service) for _ in range(3)]
        assert starts == pytest.approx([100.0, 100.0, 100.04])
        # the first slot is free from 100.04 on, whenever its thread woke: a request arriving
        # after that starts at once
        now[0] = 100.05
        assert replica.reserve_slot(service) == pytest.approx(100.05)
        assert replica.served == 4
        assert replica.capacity_rps(slo_latency_ms=100) == pytest.approx(2 / 0.04)
    finally:
        replica.server_close()
