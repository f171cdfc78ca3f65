"""A block that runs on one torch thread changes only the thread it runs in: jobs started meanwhile
(the studio's viewport, an export) keep their threads, and everything is as before afterwards."""

from __future__ import annotations

import threading

import torch

from head360.threads import single_torch_thread


def _count_in_new_thread() -> int:
    seen = []
    t = threading.Thread(target=lambda: seen.append(torch.get_num_threads()))
    t.start()
    t.join()
    return seen[0]


def test_one_thread_only_where_asked():
    before = torch.get_num_threads()
    torch.set_num_threads(2)
    try:
        inside, started_meanwhile = [], []

        def capture_job():
            with single_torch_thread():
                inside.append(torch.get_num_threads())
                started_meanwhile.append(_count_in_new_thread())
            inside.append(torch.get_num_threads())

        job = threading.Thread(target=capture_job)
        job.start()
        job.join()
        assert inside == [1, 2]
        assert started_meanwhile == [2]
        assert torch.get_num_threads() == 2 and _count_in_new_thread() == 2
    finally:
        torch.set_num_threads(before)
