"""recipes/librispeech/*: data prep (stage 1) on a miniature corpus in the official layout."""
import os
import subprocess
import sys
from pathlib import Path

import pytest

from asrkit.data.manifest import read_manifest
from asrkit.testing import make_librispeech_fixture

RECIPES = Path(__file__).resolve().parents[2] / "recipes" / "librispeech"


@pytest.mark.parametrize("variant", ["w2v2_base", "w2v2_large"])
def test_librispeech_manifest_stage_on_the_official_layout(tmp_path, variant):
    expected = make_librispeech_fixture(tmp_path / "corpus")
    env = {**os.environ, "PATH": f"{Path(sys.executable).parent}:{os.environ['PATH']}", "nj": "1", "ngpu": "1"}
    res = subprocess.run(["bash", str(RECIPES / variant / "run.sh"), "--stage", "1", "--stop-stage", "1",
                          "--corpus", str(tmp_path / "corpus"), "--data", str(tmp_path / "data"),
                          "--exp", str(tmp_path / "exp")], env=env, capture_output=True, text=True, timeout=300)
    assert res.returncode == 0, res.stdout[-2000:] + res.stderr[-2000:]
    manifests = tmp_path / "data" / "manifests"
    for split, ids in expected.items():
        assert sorted(read_manifest(manifests / f"{split}.tsv")["id"]) == sorted(ids), split
    train = set(read_manifest(manifests / "train-960.tsv")["id"])
    assert train == set(expected["train-clean-100"]) | set(expected["train-clean-360"]) | set(expected["train-other-500"])
