"""Bad audio-visual inputs give one line naming the file, line or key and what to do (issue 19)."""
from __future__ import annotations

import pytest

from asrkit.testing import make_tone_manifest
from asrkit.testing.av import write_av_manifest, write_clip, write_garbage
from asrkit.testing.ctc import write_ctc_checkpoint

from ..train.conftest import MICRO_MODEL
from ..train.test_av_pretrain import av_config
from .test_bad_inputs import one_line_error


@pytest.fixture(scope="module")
def clips(tmp_path_factory):
    d = tmp_path_factory.mktemp("av_inputs")
    good = {f"c{i}": write_clip(d / f"c{i}.mp4", seconds=1.0, seed=i) for i in range(3)}
    bad = {**good, "broken": write_garbage(d / "broken.mp4")}
    return {"dir": d, "good": write_av_manifest(d / "good.tsv", good),
            "bad": write_av_manifest(d / "bad.tsv", bad)}


def test_an_undecodable_clip_met_in_training_names_its_line_and_reason(clips, tmp_path, run_cli):
    conf = av_config(tmp_path, (clips["bad"], clips["good"]), "mae")
    res = run_cli("pretrain", "--config", conf, "--exp-dir", tmp_path / "exp")
    one_line_error(res, f"{clips['bad']}:5", "broken", "undecodable_video")
    res = run_cli("pretrain", "--config", conf, "--exp-dir", tmp_path / "exp2", "--skip-bad")
    assert res.exit_code == 0, res.output


def test_clr_on_an_audio_manifest_says_the_video_column_is_missing(clips, tmp_path, run_cli):
    tones = make_tone_manifest(tmp_path, 3, seed=0, name="tones.tsv")
    res = run_cli("pretrain", "--config", av_config(tmp_path, (tones, tones), "clr"), "--exp-dir", tmp_path / "exp")
    one_line_error(res, str(tones), "video")


def test_an_unknown_objective_lists_the_known_ones(tmp_path, run_cli):
    res = run_cli("pretrain", "--exp-dir", tmp_path / "exp", "--set", "objective=mae_ctc")
    one_line_error(res, "objective", "w2v2, mae, clr or mae_clr")


def test_eval_av_refuses_a_checkpoint_that_is_not_audio_visual(clips, tmp_path, run_cli):
    ctc = write_ctc_checkpoint(tmp_path / "ctc.pt", MICRO_MODEL)
    one_line_error(run_cli("eval-av", ctc, "--manifest", clips["good"]), str(ctc), "fine-tuned CTC model")
