"""Worker processes that die with their parent.

A process pool's workers, or a server's, outlive a parent killed with SIGKILL unless they are told otherwise: the
parent has no chance to stop them, and they sleep on (or keep answering on the server's port). Every worker
gutjoint starts calls :func:`die_with_parent` first. On Linux the kernel delivers SIGKILL to it when its parent
ends (``prctl(PR_SET_PDEATHSIG)``, proc(5) and prctl(2)); elsewhere a daemon thread polls the parent's id once a
second.
"""

from __future__ import annotations

import itertools

import ctypes
import ctypes.util
import os
import signal
import sys
import threading
import time
from collections.abc import Callable
from concurrent.futures import ProcessPoolExecutor

from gutjoint._errors import require

PR_SET_PDEATHSIG = 1
"""prctl(2)'s option: the signal this process gets when the thread that created it ends."""


def die_with_parent(parent: int | None = None) -> None:
    """Make this process end when its parent does (call it first thing in a worker). ``parent``: the parent's
    process id as the parent saw it before the fork (default: the current parent), so that a parent that died
    between the fork and this call is noticed too."""
    parent = os.getppid() if parent is None else parent
    if sys.platform.startswith("linux") and _prctl_death_signal(signal.SIGKILL):
        if os.getppid() != parent:  # the parent ended before the request reached the kernel
            os._exit(1)
        return

    def watch() -> None:
        while os.getppid() == parent:
            time.sleep(1.0)
        os._exit(1)

    threading.Thread(target=watch, name="gutjoint-parent-watch", daemon=True).start()


def _prctl_death_signal(signum: int) -> bool:
    try:
        libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6", use_errno=True)
        return libc.prctl(PR_SET_PDEATHSIG, int(signum), 0, 0, 0) == 0
    except (OSError, AttributeError):
        return False


def _start_worker(parent: int, initializer: Callable | None, initargs: tuple) -> None:
    die_with_parent(parent)
    if initializer is not None:
        initializer(*initargs)


def local_pool(workers: int, *, initializer: Callable | None = None, initargs: tuple = (),
               context=None) -> ProcessPoolExecutor:
    """A process pool of ``workers`` whose workers end with this process, however it ends; ``initializer`` runs
    in each worker after that is arranged."""
    return ProcessPoolExecutor(max_workers=workers, mp_context=context, initializer=_start_worker,
                               initargs=(os.getpid(), initializer, initargs))


def kill_pool(pool: ProcessPoolExecutor) -> None:
    """Stop ``pool`` now: its workers are killed (work in progress is lost) and the pool is shut down. Python 3.14
    has ``kill_workers``; before it, the pool's processes are reached through its process table."""
    kill = getattr(pool, "kill_workers", None)
    if kill is not None:
        kill()
    else:
        for process in list((getattr(pool, "_processes", None) or {}).values()):
            try:
                process.kill()
            except (OSError, ValueError, AttributeError):
                pass  # already gone
    pool.shutdown(wait=False, cancel_futures=True)


class Executor:
    """Where a study's independent jobs run, behind one interface: this process (``workers`` 1), local worker
    processes that end with this one (:func:`local_pool`), or a Dask distributed cluster (``scheduler``: its
    address). :meth:`map` returns the results in the order of its arguments, so a study's results never depend on
    where its jobs ran. Use it as a context manager; ``initializer`` runs once in each local worker (and on each
    Dask worker)."""

    def __init__(self, workers: int = 1, scheduler: str | None = None, initializer: Callable | None = None):
        self.workers, self.scheduler, self.initializer = workers, scheduler, initializer
        self._pool = self._client = None

    def __enter__(self) -> Executor:
        if self.scheduler:
            Client = require("dask.distributed", "distributed").Client

            self._client = Client(self.scheduler)
            if self.initializer is not None:
                self._client.run(self.initializer)
        elif self.workers > 1:
            self._pool = local_pool(self.workers, initializer=self.initializer)
        return self

    def __exit__(self, *exc) -> None:
        if self._client is not None:
            self._client.close()
        if self._pool is not None:
            self._pool.shutdown()
        self._pool = self._client = None

    @property
    def parallel(self) -> bool:
        return self._pool is not None or self._client is not None

    def map(self, function: Callable, *iterables) -> list:
        """``[function(*args) for args in zip(*iterables)]``, run where this executor runs jobs."""
        if self._client is not None:
            return self._client.gather(self._client.map(function, *iterables, pure=False))
        if self._pool is not None:
            return list(self._pool.map(function, *iterables))
        return [function(*args) for args in zip(*iterables)]

    def submit(self, function: Callable, *args):
        """Start ``function(*args)`` where this executor runs jobs; a future (``done()``, ``result()``). In this
        process the call runs at once and the future is already done."""
        if self._client is not None:
            return self._client.submit(function, *args, pure=False)
        if self._pool is not None:
            return self._pool.submit(function, *args)
        from concurrent.futures import Future

        future: Future = Future()
        try:
            future.set_result(function(*args))
        except BaseException as exc:  # kept for result() to raise, as a pool's future does
            future.set_exception(exc)
        return future

    @property
    def slots(self) -> int:
        """How many jobs run at once: the cluster's threads, the local workers, or 1."""
        if self._client is not None:
            workers = self._client.scheduler_info().get("workers", {}).values()
            return max(1, sum(w.get("nthreads", 1) for w in workers))
        return self.workers if self._pool is not None else 1

    def drain(self, function: Callable, keys, finished: Callable) -> None:
        """``finished(key, function(key))`` for every key, each as soon as its job ends, with at most two jobs per
        slot in flight, so that the memory held for results does not grow with the number of keys. In this process
        the keys run in order."""
        if not self.parallel:
            for key in keys:
                finished(key, function(key))
            return
        queue = iter(keys)
        pending = {self.submit(function, key): key for key in itertools.islice(queue, 2 * self.slots)}
        while pending:
            for future in self._first_done(list(pending)):
                key = pending.pop(future)
                finished(key, future.result())
                following = next(queue, None)
                if following is not None:
                    pending[self.submit(function, following)] = following

    def _first_done(self, futures: list) -> set:
        if self._client is not None:
            wait = require("dask.distributed", "distributed").wait

            return wait(futures, return_when="FIRST_COMPLETED").done
        from concurrent.futures import FIRST_COMPLETED, wait

        return wait(futures, return_when=FIRST_COMPLETED).done
