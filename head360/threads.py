"""Torch's intra-op thread count for one block of work in one thread, leaving every other thread alone.

``torch.set_num_threads`` changes the calling thread's OpenMP team size *and* the count every thread
started afterwards begins with; a capture job in the studio that set it to 1 for its solver therefore
slowed every job started while it ran (and could leave the count changed). :func:`single_torch_thread`
sets one thread for the calling thread and at once puts the default for other threads back from a
short-lived helper thread (which changes only its own team size). With torch's native thread pool
(no OpenMP) the count is process-wide: the block then keeps the default and runs at its normal width.
"""

from __future__ import annotations

import contextlib
import threading


@contextlib.contextmanager
def single_torch_thread():
    """Run the block with one intra-op thread in the calling thread only; restored afterwards."""
    import torch

    before = torch.get_num_threads()
    if before == 1:
        yield
        return
    torch.set_num_threads(1)
    _in_another_thread(torch.set_num_threads, before)  # threads started from now on: the default again
    try:
        yield
    finally:
        torch.set_num_threads(before)


def _in_another_thread(fn, *args) -> None:
    helper = threading.Thread(target=fn, args=args, name="head360-threads", daemon=True)
    helper.start()
    helper.join()
