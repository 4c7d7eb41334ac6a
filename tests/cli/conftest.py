"""What the command-line tests share: ``run_cli(*args)`` runs ``asrkit ARGS`` in-process;
``run_cli_as_user(*args)`` runs it as a user does, with the top-level handler of unexpected errors on."""
import pytest
from click.testing import CliRunner

from asrkit.cli import cli


@pytest.fixture
def run_cli():
    """``run_cli("manifest", "summary", path)`` -> click's Result; arguments are str()-ed, exceptions
    other than SystemExit propagate (a traceback fails the test): ``ASRKIT_DEBUG=1`` turns off the handler
    that would make them a one-line error."""

    def run(*args):
        return CliRunner(env={"ASRKIT_DEBUG": "1"}).invoke(cli, [str(a) for a in args], catch_exceptions=False)

    return run


@pytest.fixture
def run_cli_as_user(tmp_path):
    """``run_cli`` without ``ASRKIT_DEBUG``: an unexpected exception becomes a one-line error whose traceback
    goes to a log file under ``tmp_path / "cache"`` (``XDG_CACHE_HOME``)."""

    def run(*args):
        env = {"ASRKIT_DEBUG": None, "XDG_CACHE_HOME": str(tmp_path / "cache")}
        return CliRunner(env=env).invoke(cli, [str(a) for a in args], catch_exceptions=False)

    return run
