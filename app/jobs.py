"""Background jobs (exports, checkpoint loading, photo fitting, dataset generation): a thread each, with
progress the UI polls every frame. Completion callbacks run on the UI thread (in :meth:`JobRunner.poll`),
so they may touch DearPyGui and the studio's state; the job functions themselves must not."""

from __future__ import annotations

import threading
import time
import traceback
from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np

from head360.errors import Head360Error


class JobCancelled(Exception):
    """Raised inside a job function (by :meth:`Job.report`) after the user cancelled it."""


@dataclass
class Job:
    """One background task. ``fraction`` in 0..1 (or None while unknown); ``message`` says what it does
    now; ``image`` is an optional intermediate picture (uint8 [H, W, 3]) the UI may show."""

    name: str
    fraction: float | None = 0.0
    message: str = ""
    image: np.ndarray | None = None
    result: object = None
    error: str | None = None
    done: bool = False
    started: float = field(default_factory=time.perf_counter)
    finished: float | None = None
    _cancel: threading.Event = field(default_factory=threading.Event)

    def report(self, fraction: float | None = None, message: str | None = None, image: np.ndarray | None = None):
        """Called by the job function; raises JobCancelled once the user cancelled."""
        if fraction is not None:
            self.fraction = float(min(max(fraction, 0.0), 1.0))
        if message is not None:
            self.message = message
        if image is not None:
            self.image = image
        if self._cancel.is_set():
            raise JobCancelled(self.name)

    def cancel(self) -> None:
        self._cancel.set()

    @property
    def cancelled(self) -> bool:
        return self._cancel.is_set()

    @property
    def elapsed(self) -> float:
        return (self.finished or time.perf_counter()) - self.started


class JobRunner:
    """Starts jobs in threads and hands their results to callbacks on the UI thread."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._jobs: list[tuple[Job, Callable | None, Callable | None]] = []
        self.history: list[Job] = []

    def start(
        self,
        name: str,
        work: Callable[[Job], object],
        on_done: Callable[[Job], None] | None = None,
        on_error: Callable[[Job], None] | None = None,
    ) -> Job:
        """Run ``work(job)`` in a thread. ``on_done(job)`` (result in ``job.result``) or ``on_error(job)``
        (one line in ``job.error``) run later on the UI thread, from :meth:`poll`."""
        job = Job(name)

        def target() -> None:
            try:
                job.result = work(job)
                job.fraction = 1.0
            except JobCancelled:
                job.error = "cancelled"
            except Head360Error as e:
                job.error = str(e)
            except Exception as e:  # shown in the window; the studio keeps running
                traceback.print_exc()
                text = " ".join(str(e).split())
                job.error = f"{type(e).__name__}: {text}" if text else type(e).__name__
            finally:
                job.finished = time.perf_counter()
                job.done = True

        with self._lock:
            self._jobs.append((job, on_done, on_error))
        threading.Thread(target=target, name=f"head360-job-{name}", daemon=True).start()
        return job

    def poll(self) -> list[Job]:
        """Run the callbacks of jobs that finished since the last call (UI thread). Returns them."""
        with self._lock:
            finished = [j for j in self._jobs if j[0].done]
            self._jobs = [j for j in self._jobs if not j[0].done]
        for job, on_done, on_error in finished:
            self.history.append(job)
            callback = on_error if job.error is not None else on_done
            if callback is not None:
                callback(job)
        return [j for j, _, _ in finished]

    def active(self, prefix: str = "") -> list[Job]:
        with self._lock:
            return [j for j, _, _ in self._jobs if j.name.startswith(prefix)]

    def running(self, name: str) -> bool:
        return any(j.name == name for j in self.active())

    def wait_all(self, timeout: float = 60.0) -> bool:
        """Block until no job runs (shutdown and tests only)."""
        end = time.perf_counter() + timeout
        while time.perf_counter() < end:
            with self._lock:
                if all(j.done for j, _, _ in self._jobs):
                    return True
            time.sleep(0.01)
        return False
