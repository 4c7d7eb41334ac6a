"""The top-level handler: an exception no command expected is one line naming a log file that holds the
traceback; ``--debug`` / ``ASRKIT_DEBUG=1`` show the traceback instead; Ctrl-C exits 130; click's own errors
are unchanged."""
import subprocess
import sys
import textwrap

import pytest

import asrkit.score


@pytest.fixture
def results_raise(monkeypatch, tmp_path):
    """``asrkit results FILE`` raises ``error`` (set it) inside the command."""
    raised = {"error": RuntimeError("boom: a message\nof two lines")}

    def read_results(path):
        raise raised["error"]

    monkeypatch.setattr(asrkit.score, "read_results", read_results)
    (tmp_path / "results.tsv").write_text("exp\n")
    return raised, tmp_path / "results.tsv"


def test_an_unexpected_error_is_one_line_naming_a_log_that_holds_the_traceback(results_raise, run_cli_as_user,
                                                                                tmp_path):
    _, results = results_raise
    res = run_cli_as_user("results", results)
    assert res.exit_code == 1 and "Traceback" not in res.output
    (line,) = res.output.strip().splitlines()
    assert line.startswith("error: unexpected RuntimeError: boom: a message (this is a bug in asrkit")
    assert "rerun with --debug" in line
    (log,) = (tmp_path / "cache" / "asrkit" / "logs").glob("asrkit-*.log")
    assert f"the traceback is in {log};" in line
    text = log.read_text()
    assert f"results {results}" in text.splitlines()[0]  # the command line
    assert "Traceback (most recent call last)" in text and "RuntimeError: boom: a message\nof two lines" in text


@pytest.mark.parametrize("how", ["--debug", "ASRKIT_DEBUG=1"])
def test_debug_lets_the_exception_through(results_raise, tmp_path, how):
    from click.testing import CliRunner

    from asrkit.cli import cli

    _, results = results_raise
    args, env = (["--debug"], {"ASRKIT_DEBUG": None}) if how == "--debug" else ([], {"ASRKIT_DEBUG": "1"})
    with pytest.raises(RuntimeError, match="boom"):
        CliRunner(env={**env, "XDG_CACHE_HOME": str(tmp_path / "cache")}).invoke(
            cli, [*args, "results", str(results)], catch_exceptions=False)
    assert not (tmp_path / "cache").exists()


def test_debug_prints_the_traceback_in_a_real_process(tmp_path):
    script = textwrap.dedent("""
        import sys
        import asrkit.score
        def read_results(path):
            raise RuntimeError("boom")
        asrkit.score.read_results = read_results
        from asrkit.cli import cli
        cli(prog_name="asrkit")
    """)
    (tmp_path / "r.tsv").write_text("exp\n")
    env = {"XDG_CACHE_HOME": str(tmp_path / "cache"), "PATH": "/usr/bin:/bin", "PYTHONPATH": ":".join(sys.path)}
    user = subprocess.run([sys.executable, "-c", script, "results", str(tmp_path / "r.tsv")], env=env,
                          capture_output=True, text=True, timeout=120)
    debug = subprocess.run([sys.executable, "-c", script, "--debug", "results", str(tmp_path / "r.tsv")], env=env,
                           capture_output=True, text=True, timeout=120)
    assert user.returncode == 1 and "Traceback" not in user.stderr and "unexpected RuntimeError: boom" in user.stderr
    assert debug.returncode == 1 and "Traceback (most recent call last)" in debug.stderr
    assert debug.stderr.strip().endswith("RuntimeError: boom")


def test_ctrl_c_exits_130_with_a_short_message(results_raise, run_cli_as_user, tmp_path):
    raised, results = results_raise
    raised["error"] = KeyboardInterrupt()
    res = run_cli_as_user("results", results)
    assert res.exit_code == 130 and res.output.strip() == "interrupted" and not (tmp_path / "cache").exists()


def test_one_line_errors_and_click_usage_errors_are_unchanged(results_raise, run_cli_as_user, tmp_path):
    raised, results = results_raise
    raised["error"] = ValueError("results.tsv: no 'wer' column")  # what read_results raises for a bad file
    res = run_cli_as_user("results", results)
    assert res.exit_code == 1 and res.output == "error: results.tsv: no 'wer' column\n"
    res = run_cli_as_user("results", tmp_path / "missing.tsv")
    assert res.exit_code == 2 and "does not exist" in res.output
    assert not (tmp_path / "cache").exists()


def test_an_os_error_on_a_file_is_one_line_naming_it_without_a_log(results_raise, run_cli_as_user, tmp_path):
    """A full disk or a permission met anywhere (metrics, decodes, TensorBoard) is the machine's state, not a bug."""
    import errno
    import os

    raised, results = results_raise
    raised["error"] = OSError(errno.ENOSPC, os.strerror(errno.ENOSPC), str(tmp_path / "exp" / "metrics.tsv"))
    res = run_cli_as_user("results", results)
    assert res.exit_code == 1 and "Traceback" not in res.output
    (line,) = res.output.strip().splitlines()
    assert line.startswith(f"error: {tmp_path / 'exp' / 'metrics.tsv'}: No space left on device; free space")
    assert not (tmp_path / "cache" / "asrkit" / "logs").exists()


def test_a_dead_worker_process_is_one_line_saying_what_to_do(results_raise, run_cli_as_user, tmp_path):
    from concurrent.futures.process import BrokenProcessPool

    raised, results = results_raise
    raised["error"] = BrokenProcessPool("A process in the process pool was terminated abruptly")
    res = run_cli_as_user("results", results)
    assert res.exit_code == 1 and "Traceback" not in res.output
    (line,) = res.output.strip().splitlines()
    assert line.startswith("error: a worker process died") and "fewer --num-workers" in line
