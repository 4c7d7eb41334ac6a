import pytest
import torch


@pytest.fixture(autouse=True)
def single_thread():
    """These models are tiny: one thread is fastest, and OpenMP threads spinning against another busy
    process on a 2-core machine slow tests down ~100x."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)
