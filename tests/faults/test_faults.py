"""Nothing lost: the agent under faults, each case balancing its books.

For every case: accepted = delivered + dead-lettered + dropped, dropped = 0 unless the
case fills the disk cap on purpose, and no point is stored twice.
"""

from __future__ import annotations

import random
import time

import pytest

from tests.support.accounting import Books, books
from tests.support.faultproxy import Decision, FaultProxy
from tests.support.processes import AgentProcess, wait_for
from tests.support.stubstore import Answer

from .conftest import SCALE, SCHOOL, SINK, Rig

pytestmark = pytest.mark.faults


def settle(rig: Rig, agent: AgentProcess, case: str) -> Books:
    """Stop the campus, let the agent send everything, stop it, and read the books."""
    rig.campus.stop()
    time.sleep(1)  # the last polls fail; what was polled is committed
    assert agent.stop(timeout=60) == 0, agent.log_text()[-2000:]

    def balanced() -> Books | None:
        result = books(rig.buffer_file, rig.store, SCHOOL, SINK)
        return result if result.balanced() else None

    try:
        result: Books = wait_for(balanced, 30, interval=1, what="the books to balance")
    except AssertionError:
        result = books(rig.buffer_file, rig.store, SCHOOL, SINK)
        rig.record(case + " (UNBALANCED)", result)
        raise AssertionError(f"{case}: {result}") from None
    rig.record(case, result)
    return result


def test_store_down_for_a_while_under_load(rig: Rig) -> None:
    agent = rig.agent()
    agent.start()
    time.sleep(3)
    rig.store.stop()
    time.sleep(60 * SCALE)
    rig.store.start()
    result = settle(rig, agent, f"store down {60 * SCALE:.0f}s under load")
    assert result.dropped == 0
    assert result.accepted > 16 * 50


def test_sigkill_twenty_times_at_random_moments(rig: Rig) -> None:
    chance = random.Random(20)
    agent = rig.agent()
    for _ in range(20):
        agent.start()
        time.sleep(chance.uniform(0.3, 1.5))
        agent.kill()
    agent.start()
    time.sleep(2)
    result = settle(rig, agent, "SIGKILL x20 at random moments")
    assert result.dropped == 0 and result.dead_lettered == 0
    # Polled readings not yet committed (at most flush_interval of them) die with a SIGKILL;
    # everything else the simulators served must be in the store.
    served = sum(len(polls) for polls in rig.campus.served_polls().values())
    lost_in_memory = served - result.readings
    assert 0 <= lost_in_memory <= 20 * 16 * 4, (served, result)


def test_store_restarted_again_and_again(rig: Rig) -> None:
    agent = rig.agent()
    agent.start()
    for _ in range(6):
        time.sleep(2)
        rig.store.stop()
        time.sleep(1.5)
        rig.store.start()
    result = settle(rig, agent, "store restarted x6")
    assert result.dropped == 0 and result.dead_lettered == 0


def test_every_answer_a_store_can_give(rig: Rig) -> None:
    script = {
        2: Answer(429, "slow down", {"Retry-After": "1"}),
        4: Answer(503, "maintenance", {"Retry-After": "1"}),
        6: Answer(401, "unauthorized"),
        7: Answer(403, "forbidden"),
        9: Answer(400, "partial write: field type conflict"),
        11: Answer(204, delay=4),  # hangs past the agent's 2 s timeout
        13: Answer(422, "unprocessable"),
    }

    def decide(request: Decision) -> Answer | None:
        # The script first: how many points a request holds depends on timing, and each
        # scripted answer must be given once whatever the size of the request it meets.
        if request.index in script:
            return script[request.index]
        if request.points > 300:
            return Answer(413, "request entity too large")
        return None

    with FaultProxy(rig.store.url, decide) as proxy:
        agent = rig.agent(proxy.url, batch_points=2000)
        agent.start()
        wait_for(lambda: len(proxy.answers) > 20, 60, what="the agent to work through the faults")
        # A backlog too big for one request forces a 413 and the split.
        rig.store.stop()
        time.sleep(3)
        rig.store.start()
        result = settle(rig, agent, "429/503/401/403/400/422/413/hang")
    assert {429, 503, 401, 403, 400, 422, 413, 204} <= set(proxy.answers)
    assert result.dead_lettered > 0  # the 400 and 422 batches, kept aside
    assert result.dropped == 0
    log = agent.log_text()
    assert "check the token" in log and "kept in dead letters" in log


@pytest.mark.parametrize("cap", ["64KiB"])
def test_the_disk_cap_drops_the_oldest_and_counts_them_exactly(rig: Rig, cap: str) -> None:
    agent = rig.agent(max_disk=cap)
    rig.store.stop()
    agent.start()
    wait_for(lambda: "buffer full (max_disk reached)" in agent.log_text(), 60, what="the cap to be reached")
    time.sleep(2)
    rig.store.start()
    result = settle(rig, agent, f"disk cap {cap} reached on purpose")
    assert result.dropped > 0
    assert result.delivered > 0


def test_a_corrupt_buffer_at_start(rig: Rig) -> None:
    rig.buffer_file.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    rig.buffer_file.write_bytes(b"\x00garbage, not SQLite\x00" * 4096)
    agent = rig.agent()
    agent.start()
    wait_for(lambda: "buffer file is damaged; moved aside" in agent.log_text(), 30, what="the damage noticed")
    time.sleep(3)
    assert agent.running()
    result = settle(rig, agent, "corrupt buffer file at start")
    assert result.accepted > 0 and result.dropped == 0
    assert list(rig.buffer_file.parent.glob("buffer.db.damaged-*"))
