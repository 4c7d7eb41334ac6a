import os

import pytest
import torch

if os.environ.get("PYTEST_XDIST_WORKER"):
    # Under pytest-xdist (`make test` runs a worker per core) every core already runs a test: the processes tests
    # start (recipes' asrkit commands, torchrun, spawned workers) take one OpenMP thread each too, as the tests in
    # this process do (single_thread below), instead of torch's default of one per core spinning against the others.
    os.environ.update({var: "1" for var in ("OMP_NUM_THREADS", "MKL_NUM_THREADS", "OPENBLAS_NUM_THREADS")})


def pytest_collection_modifyitems(config, items):
    """Under pytest-xdist, the slow tests (end-to-end recipes, torchrun: minutes each) first, so that the workers
    share them out while the many short tests fill the gaps; last, one of them would keep a worker busy alone.
    (`make test` hands out whole files in this order: --dist loadfile --no-loadscope-reorder.)"""
    if os.environ.get("PYTEST_XDIST_WORKER"):
        items.sort(key=lambda item: item.get_closest_marker("slow") is None)  # stable: collection order otherwise


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
