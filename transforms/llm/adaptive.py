"""Adaptive concurrency for a server: AIMD (additive increase, multiplicative decrease), as TCP's congestion
control and NeMo Data Designer's throttle do, so the number of requests in flight finds what the endpoint
can take instead of being tuned by hand.

The rule: the gate starts at `max_concurrency`. Each answered request adds 1/limit to the limit (about one
more request in flight per round of answers), up to `max_concurrency`. A sign of overload (a 429, a 503, a
timeout) halves it, down to `min_concurrency`, at most once per round: the other overloaded answers of the
same round were sent at the old limit and say nothing new. `Retry-After` is honoured by the retry loop as
before; the gate only decides how many requests may be in flight.

With `openai.machine_concurrency`, a request that has room at the gate also takes a slot of the
machine-wide pool (machine_slots.py) before it is sent, and gives both back when answered.
"""

from __future__ import annotations

import asyncio
from typing import TYPE_CHECKING, Callable, Optional

if TYPE_CHECKING:
    from prefmill.transforms.llm.machine_slots import MachineSlots

OVERLOAD_STATUS = {429, 503}


class AdaptiveGate:
    """An asyncio gate whose size moves with the endpoint's answers. One per endpoint (per worker process),
    used from that endpoint's event loop only."""

    def __init__(self, max_concurrency: int, min_concurrency: int = 1, adaptive: bool = True,
                 on_change: Optional[Callable[[int, int], None]] = None,
                 pool: Optional["MachineSlots"] = None) -> None:
        self.max = max_concurrency
        self.min = min(min_concurrency, max_concurrency)
        self.adaptive = adaptive
        self.limit = float(max_concurrency)
        self.in_flight = 0
        self.answers = 0  # answered requests so far; a decrease waits for a round after the last one
        self._last_decrease = -10 ** 9
        self._waiters: list[asyncio.Future] = []
        self.on_change = on_change  # (old size, new size): for the run summary's counter
        self.lowest = max_concurrency
        self.pool = pool  # the machine-wide slots (openai.machine_concurrency), or None
        self._slots: list[int] = []  # slots of the pool held by requests in flight here

    @property
    def size(self) -> int:
        return max(self.min, int(self.limit))

    async def __aenter__(self) -> "AdaptiveGate":
        while self.in_flight >= self.size:
            waiter = asyncio.get_running_loop().create_future()
            self._waiters.append(waiter)
            await waiter
        self.in_flight += 1
        if self.pool is not None:
            try:
                self._slots.append(await self.pool.acquire())
            except BaseException:
                self.in_flight -= 1
                self._wake()
                raise
        return self

    async def __aexit__(self, *exc) -> None:
        if self.pool is not None:
            self.pool.release(self._slots.pop())  # slots are interchangeable: any one held here goes back
        self.in_flight -= 1
        self._wake()

    def _wake(self) -> None:
        """Wake as many waiters as there is room for; each checks the room again when it runs (so waking one
        too many only makes it wait again)."""
        free = self.size - self.in_flight
        while free > 0 and self._waiters:
            waiter = self._waiters.pop(0)
            if not waiter.done():
                waiter.set_result(None)
                free -= 1

    def _set(self, limit: float) -> None:
        before = self.size
        self.limit = min(float(self.max), max(float(self.min), limit))
        self.lowest = min(self.lowest, self.size)
        if self.on_change is not None and self.size != before:
            self.on_change(before, self.size)
        self._wake()

    def answered(self) -> None:
        """A request was answered (whatever its content): one more step of additive increase."""
        self.answers += 1
        if self.adaptive and self.limit < self.max:
            self._set(self.limit + 1.0 / self.limit)

    def overloaded(self) -> None:
        """The endpoint said it is overloaded (429, 503) or a request timed out."""
        self.answers += 1
        if not self.adaptive or self.answers - self._last_decrease < self.size:
            return  # same round as the last decrease: those requests went out at the old limit
        self._last_decrease = self.answers
        self._set(self.limit / 2)
