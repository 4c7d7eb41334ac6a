"""What the synth recipes' tests share: a runner for recipes/synth/<recipe>/run.sh and w2v2_tiny's stages 0-2 on a
miniature corpus, made once per test session for every recipe that trains on the demo's data."""
import os
import subprocess
import sys
from pathlib import Path

import pytest

RECIPES = Path(__file__).resolve().parents[2] / "recipes" / "synth"
TINY = ("--pretrain-hours 0.005 --finetune-folds 2 --fold-minutes 0.1 --dev-minutes 0.1 "
        "--test-minutes 0.1 --train-speakers 4 --dev-speakers 2 --test-speakers 2 --unseen-minutes 0.1")


def run_recipe(*args, recipe="w2v2_tiny", nj=2):
    env = {**os.environ, "PATH": f"{Path(sys.executable).parent}:{os.environ['PATH']}", "nj": str(nj)}
    return subprocess.run(["bash", str(RECIPES / recipe / "run.sh"), *map(str, args)], env=env,
                          capture_output=True, text=True, timeout=600)


@pytest.fixture(scope="session")
def mini_data(tmp_path_factory):
    """Stages 0-2 of w2v2_tiny on a miniature corpus: the corpus, manifests and 4-gram the recipes train on."""
    data = tmp_path_factory.mktemp("synth") / "data"
    res = run_recipe("--stage", 0, "--stop-stage", 2, "--data", data, "--synth-opts", TINY, "--lm-sentences", 2000)
    assert res.returncode == 0, res.stdout[-3000:] + res.stderr[-3000:]
    assert all((data / f".stage{n}.done").exists() for n in (0, 1, 2))
    return data
