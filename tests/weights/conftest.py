"""Run PyTorch single-threaded here: its tiny reference nets are slower with 2 threads on a busy CPU."""

import pytest


@pytest.fixture(autouse=True, scope="module")
def _single_threaded_torch():
    try:
        import torch
    except ImportError:
        yield
        return
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)
