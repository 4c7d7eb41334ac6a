"""LRS3, VoxCeleb2 and Kinetics prep on fixtures in the official layouts: ids, speakers, labels, texts,
the LRS3 15 s split (here at 0.7 s), the skip counts by reason, FLAC extraction and the scripts."""
from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from asrkit.data.av_corpora import (prepare_kinetics, prepare_lrs3, prepare_voxceleb2, read_lrs3_txt,
                                    split_words)
from asrkit.data.manifest import AV_COLUMNS, COLUMNS, read_manifest
from asrkit.data.validate import validate_manifest
from asrkit.testing.av import LRS3_WORDS, write_kinetics_fixture, write_lrs3_fixture, write_voxceleb2_fixture

REPO = Path(__file__).resolve().parents[2]


def test_lrs3_manifests(tmp_path):
    expected = write_lrs3_fixture(tmp_path / "lrs3")
    written = prepare_lrs3(tmp_path / "lrs3", tmp_path / "m", num_workers=2)
    assert set(written) == {"pretrain", "trainval", "test"}
    for split, want in expected.items():
        df = read_manifest(written[split].manifest)
        assert list(df.columns[:12]) == COLUMNS + AV_COLUMNS
        assert list(df["id"]) == want["ids"]
        assert dict(written[split].skipped) == want["skipped"]
    df = read_manifest(written["trainval"].manifest)
    assert df["speaker"][0] == "0Fi83BHQsMA" and df["text"][0] == "GOOD MORNING"
    clip = tmp_path / "lrs3/trainval/0Fi83BHQsMA/50001.mp4"
    assert Path(df["audio"][0]).resolve() == Path(df["video"][0]).resolve() == clip.resolve()
    assert (df["num_samples"][0], df["num_frames"][0], df["fps"][0], df["width"][0]) == (12800, 20, 25.0, 32)
    assert validate_manifest(written["trainval"].manifest, fps=25, frame_size=(32, 32), num_workers=1).ok


def test_lrs3_pretrain_split_at_word_boundaries(tmp_path):
    write_lrs3_fixture(tmp_path / "lrs3")
    written = prepare_lrs3(tmp_path / "lrs3", tmp_path / "m", ["pretrain"], max_seconds=0.7, num_workers=1)
    df = read_manifest(written["pretrain"].manifest)
    long = df[df["id"].str.startswith("pretrain/0Fi83BHQsMA/00001_")]
    assert list(long["text"]) == ["SO WE", "WENT HOME", "AGAIN"]
    assert (long["duration"] <= 0.7 + 1e-6).all()
    assert list(long["offset"]) == [0, 8800, 18400]  # cuts in the pauses: (0.50+0.60)/2 s, (1.10+1.20)/2 s
    assert int(long["offset"].iloc[-1] + long["num_samples"].iloc[-1]) == 25600  # to the end of the 1.6 s clip
    assert df.set_index("id").loc["pretrain/0Fi83BHQsMA/00002", "offset"] == 0  # short clips stay whole
    assert validate_manifest(written["pretrain"].manifest, num_workers=1).ok


def test_lrs3_txt_and_split_words(tmp_path):
    write_lrs3_fixture(tmp_path)
    text, words = read_lrs3_txt(tmp_path / "pretrain/0Fi83BHQsMA/00001.txt")
    assert text == "SO WE WENT HOME AGAIN" and words == LRS3_WORDS
    assert read_lrs3_txt(tmp_path / "test/0akiEFwtkyA/00001.txt") == ("THANK YOU", [])
    assert split_words(LRS3_WORDS, 1.6, 15.0) == [(0.0, 1.6, "SO WE WENT HOME AGAIN")]
    assert [t for _, _, t in split_words(LRS3_WORDS, 1.6, 0.3)] == ["SO", "WE", "WENT", "HOME", "AGAIN"]


def test_voxceleb2_manifests_and_id_list(tmp_path):
    expected = write_voxceleb2_fixture(tmp_path / "vox")
    written = prepare_voxceleb2(tmp_path / "vox", tmp_path / "m", num_workers=2)
    for split, want in expected.items():
        df = read_manifest(written[split].manifest)
        assert list(df["id"]) == want["ids"] and dict(written[split].skipped) == want["skipped"]
    assert list(read_manifest(written["dev"].manifest)["speaker"]) == ["id00012", "id00012", "id00015"]
    english = prepare_voxceleb2(tmp_path / "vox", tmp_path / "en", id_list=tmp_path / "vox/vox-en.id", num_workers=1)
    assert list(read_manifest(english["dev"].manifest)["id"]) == ["id00012/21Uxsk56VDQ/00001",
                                                                  "id00015/0fijmz4vTVU/00001"]
    assert english["dev"].skipped["not_in_id_list"] == 2


def test_kinetics_manifests_labels_and_skips(tmp_path):
    expected = write_kinetics_fixture(tmp_path / "k600")
    written = prepare_kinetics(tmp_path / "k600", tmp_path / "m", num_workers=2)
    for split, want in expected.items():
        df = read_manifest(written[split].manifest)
        assert list(df["id"]) == want["ids"] and list(df["label"]) == want["labels"]
        assert dict(written[split].skipped) == want["skipped"]
    df = read_manifest(written["train"].manifest)
    assert list(df["speaker"]) == ["--6bJUbfpnQ", "0-1MLblaMRA"] and (df["text"] == "").all()


def test_extract_audio_writes_flac_next_to_the_manifest(tmp_path):
    write_kinetics_fixture(tmp_path / "k600")
    written = prepare_kinetics(tmp_path / "k600", tmp_path / "m", ["validate"], extract_audio=True, num_workers=1)
    df = read_manifest(written["validate"].manifest)
    assert Path(df["audio"][0]) == tmp_path / "m/audio/1CIBfZF0zyE_000012_000022.flac"
    assert df["video"][0].endswith(".mp4")
    assert validate_manifest(written["validate"].manifest, charset=None, text_required=False, num_workers=1).ok


@pytest.mark.parametrize("script, fixture, extra", [
    ("prepare_lrs3.py", write_lrs3_fixture, ["--max-seconds", "0.7"]),
    ("prepare_voxceleb2.py", write_voxceleb2_fixture, []),
    ("prepare_kinetics.py", write_kinetics_fixture, []),
])
def test_scripts_print_a_summary_and_the_skips(tmp_path, script, fixture, extra):
    fixture(tmp_path / "corpus")
    out = subprocess.run([sys.executable, str(REPO / "local" / script), str(tmp_path / "corpus"), "--out",
                          str(tmp_path / "m"), "--num-workers", "1", *extra],
                         capture_output=True, text=True, env={"PYTHONPATH": str(REPO)})
    assert out.returncode == 0, out.stderr
    assert "utterances" in out.stderr and "left out" in out.stderr  # the console of asrkit.cli.ui: stderr
    assert any((tmp_path / "m").glob("*.tsv"))


def test_missing_corpus_is_one_error(tmp_path):
    from asrkit.data.manifest import ManifestError

    with pytest.raises(ManifestError, match="none of pretrain, trainval, test"):
        prepare_lrs3(tmp_path, tmp_path / "m")
    with pytest.raises(ManifestError, match="annotations"):
        prepare_kinetics(tmp_path, tmp_path / "m")
