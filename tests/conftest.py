import os

import pytest
import torch

# one thread per xdist worker (the workers already fill the cores), at most two otherwise
torch.set_num_threads(1 if os.environ.get("PYTEST_XDIST_WORKER") else max(1, min(2, torch.get_num_threads())))


@pytest.fixture
def registry():
    from zoo.registry import Registry
    return Registry()
