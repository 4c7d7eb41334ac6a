"""What the command-line tests share: ``run_cli(*args)`` runs ``asrkit ARGS`` in-process."""
import pytest
from click.testing import CliRunner

from asrkit.cli import cli


@pytest.fixture
def run_cli():
    """``run_cli("manifest", "summary", path)`` -> click's Result; arguments are str()-ed, exceptions
    other than SystemExit propagate (a traceback fails the test)."""

    def run(*args):
        return CliRunner().invoke(cli, [str(a) for a in args], catch_exceptions=False)

    return run
