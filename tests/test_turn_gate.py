"""``TurnGate``: a turn's calls enter in ticket order, at most ``limit`` at a time."""

from __future__ import annotations

import random
import threading
import time

from agentkit._turns import TurnGate


def _run(gate: TurnGate, tickets: list[int], log: list[int], active: list[int]) -> None:
    def call(ticket: int) -> None:
        time.sleep(random.random() / 200)  # threads start in a shuffled order
        gate.enter(ticket)
        active.append(1)
        log.append(ticket)
        assert len(active) <= limit
        time.sleep(0.002)
        active.pop()
        gate.leave()

    limit = gate._free
    threads = [threading.Thread(target=call, args=(t,)) for t in reversed(tickets)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(10)
        assert not t.is_alive()


def test_calls_enter_in_ticket_order_whatever_order_their_threads_start() -> None:
    for limit in (1, 2):
        gate = TurnGate(limit)
        tickets = [gate.ticket() for _ in range(8)]
        log: list[int] = []
        _run(gate, tickets, log, [])
        if limit == 1:
            assert log == tickets
        else:  # two at a time: each enters no later than one place after its turn
            assert sorted(log) == tickets
            assert all(abs(i - t) <= 1 for i, t in enumerate(log))


def test_a_ticket_given_up_is_skipped_wherever_it_is_in_the_queue() -> None:
    gate = TurnGate(1)
    tickets = [gate.ticket() for _ in range(5)]
    gate.give_up(tickets[2])  # later than the current turn: skipped when it comes
    gate.give_up(tickets[0])  # the current turn: the next one goes at once
    log: list[int] = []
    _run(gate, [tickets[1], tickets[3], tickets[4]], log, [])
    assert log == [1, 3, 4]
    gate.give_up(tickets[1])  # entered already: nothing changes
    t = gate.ticket()
    gate.enter(t)  # the queue is not stuck
    gate.leave()
