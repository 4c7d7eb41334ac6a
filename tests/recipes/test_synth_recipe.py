"""recipes/synth/w2v2_tiny/run.sh end to end on a miniature corpus; re-runs skip done stages."""
import os
import subprocess
import sys
from pathlib import Path

RECIPE = Path(__file__).resolve().parents[2] / "recipes" / "synth" / "w2v2_tiny"
TINY = ("--pretrain-hours 0.005 --finetune-folds 2 --fold-minutes 0.1 --dev-minutes 0.1 "
        "--test-minutes 0.1 --train-speakers 4 --dev-speakers 2 --test-speakers 2")


def run_recipe(*args):
    env = {**os.environ, "PATH": f"{Path(sys.executable).parent}:{os.environ['PATH']}", "nj": "2"}
    return subprocess.run(["bash", str(RECIPE / "run.sh"), *map(str, args)], env=env,
                          capture_output=True, text=True, timeout=600)


def test_recipe_stages_run_and_skip_when_done(tmp_path):
    data = tmp_path / "data"
    res = run_recipe("--stage", 0, "--stop-stage", 1, "--data", data, "--synth-opts", TINY)
    assert res.returncode == 0, res.stdout + res.stderr
    assert {p.name for p in (data / "manifests").glob("*.tsv")} == {
        "pretrain.tsv", "10m.tsv", "1h.tsv", "dev.tsv", "test.tsv"}
    assert (data / ".stage0.done").exists() and (data / ".stage1.done").exists()
    stamp = (data / "synth" / "SPEAKERS.TXT").stat().st_mtime_ns

    again = run_recipe("--stage", 0, "--stop-stage", 1, "--data", data, "--synth-opts", TINY)
    assert again.returncode == 0
    assert "Stage 0: done already" in again.stdout and "Stage 1: done already" in again.stdout
    assert (data / "synth" / "SPEAKERS.TXT").stat().st_mtime_ns == stamp


def test_recipe_rejects_unknown_options(tmp_path):
    res = run_recipe("--no-such-option", 1)
    assert res.returncode != 0 and "unknown option --no-such-option" in res.stderr
