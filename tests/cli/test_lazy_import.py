"""The top-level commands load lazily (``asrkit.cli.COMMANDS``), and the commands that need no torch start without
it: ``asrkit score`` and ``results`` are text processing, and the recipes run them hundreds of times."""
from __future__ import annotations

import json
import subprocess
import sys
import textwrap

import click
import pytest
from click.testing import CliRunner

from asrkit.cli import COMMANDS, cli
from asrkit.cli.ui import AsrkitGroup

# Every top-level command, in the order `asrkit --help` lists them (as before they loaded lazily)
EXPECTED = ["ablation", "analyze", "benchmark", "compare", "decode", "doctor", "eval-av", "export", "finetune",
            "import-checkpoint", "lm", "manifest", "midtrain", "multistage-report", "prepare", "pretrain", "results",
            "score", "superb", "superb-report", "sweep"]


def test_every_lazy_name_resolves_to_the_command_of_that_name():
    ctx = click.Context(cli, info_name="asrkit")
    assert cli.list_commands(ctx) == EXPECTED and sorted(COMMANDS) == EXPECTED
    for name in EXPECTED:
        command = cli.get_command(ctx, name)
        assert isinstance(command, click.Command) and command.name == name, COMMANDS[name]


def test_help_lists_every_command_in_order():
    res = CliRunner().invoke(cli, ["--help"], terminal_width=200)
    assert res.exit_code == 0, res.output
    listed = res.output.split("\nCommands:\n")[1].splitlines()
    assert [line.split()[0] for line in listed if line.strip()] == EXPECTED


def test_light_commands_start_without_torch(tmp_path):
    """In a fresh interpreter: import asrkit.cli, run --help and the text commands through CliRunner, and name
    the first invocation after which torch (or matplotlib) had been imported."""
    (tmp_path / "ref.trn").write_text("THE CAT SAT (spk1-utt1)\nA DOG RAN HOME (spk2-utt2)\n")
    (tmp_path / "hyp.trn").write_text("THE CAT SAT (spk1-utt1)\nA DOG RUN (spk2-utt2)\n")
    results = tmp_path / "results.tsv"
    runs = [["--help"], ["score", "--help"], ["results", "--help"], ["compare", "--help"], ["decode", "--help"],
            ["multistage-report", "--help"], ["lm", "train", "--help"], ["prepare", "lm-text", "--help"],
            ["score", "--ref", str(tmp_path / "ref.trn"), "--hyp", str(tmp_path / "hyp.trn"), "--results", str(results),
             "--exp", "e", "--decoder", "greedy", "--split", "test"],
            ["results", str(results)]]
    script = textwrap.dedent("""
        import json, sys
        from click.testing import CliRunner
        from asrkit.cli import cli
        first = {}
        for args in json.loads(sys.argv[1]):
            res = CliRunner().invoke(cli, args, catch_exceptions=False)
            assert res.exit_code == 0, (args, res.output)
            for module in ("torch", "matplotlib"):
                if module in sys.modules:
                    first.setdefault(module, " ".join(args))
        print(json.dumps(first))
    """)
    env = {"PATH": "/usr/bin:/bin", "PYTHONPATH": ":".join(sys.path), "OMP_NUM_THREADS": "1"}
    proc = subprocess.run([sys.executable, "-c", script, json.dumps(runs)], env=env, capture_output=True, text=True,
                          timeout=120)
    assert proc.returncode == 0, proc.stderr
    assert json.loads(proc.stdout.strip().splitlines()[-1]) == {}  # {module: the run after which it was loaded}
    assert "e\tgreedy\ttest" in results.read_text()


def test_a_command_whose_module_fails_to_import_is_an_unexpected_error(tmp_path):
    group = AsrkitGroup("asrkit", lazy_commands={"broken": "no_such_module:broken_cmd"})
    res = CliRunner(env={"ASRKIT_DEBUG": None, "XDG_CACHE_HOME": str(tmp_path)}).invoke(group, ["broken"])
    assert res.exit_code == 1 and "Traceback" not in res.output
    assert res.output.startswith("error: unexpected ModuleNotFoundError: No module named 'asrkit.cli.no_such_module'")
    assert len(list((tmp_path / "asrkit" / "logs").glob("asrkit-*.log"))) == 1


@pytest.mark.skipif(not hasattr(click, "NoSuchCommand"), reason="click < 8.4 suggests no command names")
def test_a_misspelt_command_is_suggested_though_none_is_loaded():
    group = AsrkitGroup("asrkit", lazy_commands=COMMANDS)  # not cli: earlier tests loaded some of its commands
    res = CliRunner().invoke(group, ["scor"])
    assert not group.commands
    assert res.exit_code == 2 and "No such command 'scor'" in res.output and "'score'" in res.output
