"""A fixed pool of buffers passed from one producer to consumer threads working side by side.

The downloader's producer fills a buffer from the socket; the md5 and the disk write each
run in their own thread on the same buffer (both release the GIL for large buffers), and
the buffer goes back to the pool when every consumer is done with it. Memory is the pool,
whatever the size of the download; a slow consumer makes the producer wait (backpressure).
"""

from __future__ import annotations

import queue
import threading
from collections.abc import Callable, Sequence
from types import TracebackType

Consumer = Callable[[memoryview], None]


class _Stage:
    def __init__(self, name: str, consume: Consumer, release: Callable[[int], None],
                 buffers: Sequence[memoryview]) -> None:
        self.consume = consume
        self.release = release
        self.buffers = buffers
        self.inbox: queue.Queue[tuple[int, int] | None] = queue.Queue()
        self.error: BaseException | None = None
        self.thread = threading.Thread(target=self._run, name=name, daemon=True)

    def _run(self) -> None:
        while (item := self.inbox.get()) is not None:
            index, length = item
            if self.error is None:
                try:
                    self.consume(self.buffers[index][:length])
                except BaseException as exc:  # handed to the producer, which raises it
                    self.error = exc
            self.release(index)  # also after an error, so the producer never waits forever


class BufferPipeline:
    """`with BufferPipeline(buffers, consumers) as pipe:` then `index = pipe.acquire()`, fill
    `pipe.buffers[index]`, `pipe.submit(index, length)`. A consumer's exception is raised by
    the next acquire() or by leaving the block."""

    def __init__(self, buffers: Sequence[memoryview], consumers: Sequence[tuple[str, Consumer]]) -> None:
        self.buffers = buffers
        self._free: queue.Queue[int] = queue.Queue()
        self._users = [0] * len(buffers)
        self._lock = threading.Lock()
        self._stages = [_Stage(name, consume, self._release, buffers) for name, consume in consumers]
        for index in range(len(buffers)):
            self._free.put(index)

    def __enter__(self) -> BufferPipeline:
        for stage in self._stages:
            stage.thread.start()
        return self

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        for stage in self._stages:
            stage.inbox.put(None)
        for stage in self._stages:
            stage.thread.join()
        if exc is None:
            self._raise_stage_error()

    def acquire(self) -> int:
        """A free buffer's index (waits while every buffer is in use)."""
        index = self._free.get()
        self._raise_stage_error()
        return index

    def submit(self, index: int, length: int) -> None:
        """Hand the first `length` bytes of the buffer to every consumer."""
        with self._lock:
            self._users[index] = len(self._stages)
        for stage in self._stages:
            stage.inbox.put((index, length))

    def _release(self, index: int) -> None:
        with self._lock:
            self._users[index] -= 1
            free = self._users[index] == 0
        if free:
            self._free.put(index)

    def _raise_stage_error(self) -> None:
        for stage in self._stages:
            if stage.error is not None:
                raise stage.error
