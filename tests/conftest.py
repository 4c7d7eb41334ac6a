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


@pytest.fixture(autouse=True)
def asrkit_debug(monkeypatch):
    """``asrkit`` commands run by tests, in-process or as child processes, let an unexpected exception through
    as a traceback (``ASRKIT_DEBUG=1``) instead of logging it to a file, so that it fails the test loudly;
    tests/cli's ``run_cli_as_user`` turns this off to test that handler."""
    monkeypatch.setenv("ASRKIT_DEBUG", "1")
