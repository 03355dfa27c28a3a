"""Pages in flight: asyncio tasks for `AsyncCustomers`, daemon threads for `Customers`.

The two classes have the same shape, so that `_customers.py`, generated from
`_customers_async.py`, drives threads where the async one drives tasks.
"""

from __future__ import annotations

import asyncio
import contextvars
import queue
import threading
from collections.abc import Awaitable, Callable
from concurrent.futures import Future
from typing import Any, Generic, TypeVar

T = TypeVar("T")


class AsyncFetch(Generic[T]):
    def __init__(self, task: asyncio.Future[T]) -> None:
        self._task = task

    async def result(self) -> T:
        return await self._task

    def cancel(self) -> None:
        self._task.cancel()


class AsyncFetches:
    """Fetches pages as tasks of the running loop; leaving cancels them."""

    abandoned: threading.Event | None = None  # a cancelled task needs no signal

    def __init__(self, workers: int) -> None:
        """As many tasks as the reader asks for at once (`workers` is the pager's concurrency)."""

    def start(self, fetch: Callable[..., Awaitable[T]], *args: Any) -> AsyncFetch[T]:
        return AsyncFetch(asyncio.ensure_future(fetch(*args)))

    def close(self) -> None:
        """Nothing to stop: the pages still pending were cancelled by their reader."""


class Fetch(Generic[T]):
    def __init__(self, future: Future[T]) -> None:
        self._future = future

    def result(self) -> T:
        return self._future.result()

    def cancel(self) -> None:
        self._future.cancel()


class Fetches:
    """Fetches pages on daemon threads. Unlike a ThreadPoolExecutor's, they are never joined: an
    iterator left early, or a process ending, does not wait for the pages still in flight. Once
    closed, `abandoned` is set: their requests start no new attempt and cut their waits short."""

    def __init__(self, workers: int) -> None:
        self.workers = workers
        self.abandoned = threading.Event()
        self._jobs: queue.SimpleQueue[tuple[Future[Any], Callable[..., Any], tuple[Any, ...]] | None] = (
            queue.SimpleQueue()
        )
        for n in range(workers):
            threading.Thread(target=self._work, name=f"threedcart-page-{n}", daemon=True).start()

    def start(self, fetch: Callable[..., T], *args: Any) -> Fetch[T]:
        """Fetch on a worker, in a copy of the caller's context (a tracing span reaches it)."""
        future: Future[T] = Future()
        self._jobs.put((future, contextvars.copy_context().run, (fetch, *args)))
        return Fetch(future)

    def _work(self) -> None:
        while (job := self._jobs.get()) is not None:
            future, fetch, args = job
            if not future.set_running_or_notify_cancel():
                continue
            try:
                future.set_result(fetch(*args))
            except BaseException as exc:
                future.set_exception(exc)

    def close(self) -> None:
        self.abandoned.set()
        for _ in range(self.workers):
            self._jobs.put(None)
