"""Run PyTorch single-threaded here.

Its tiny reference nets are slower with 2 threads on a busy CPU.
"""

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


@pytest.fixture(scope="session")
def port_key_list(shared_data):
    """(key, shape) pairs of the port's published 2-stack checkpoint, in file order."""
    path = shared_data / "pytorch_port_hg2_state_dict_keys.txt"
    if not path.is_file():
        pytest.skip(f"key list of the port's 2-stack checkpoint not found at {path}")
    pairs = []
    for line in path.read_text().splitlines():
        if line.strip() and not line.startswith("#"):
            key, shape = line.split("\t")
            pairs.append((key, tuple(int(s) for s in shape.strip("[]").split(",") if s.strip())))
    return pairs
