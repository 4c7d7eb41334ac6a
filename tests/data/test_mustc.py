"""MuST-C prep on a miniature corpus in the official layout: segments grouped by talk and sorted by offset,
repeated offsets, short and past-the-end segments, length filters, text kept as it is, one-line errors."""
from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from asrkit.data.audio import read_audio
from asrkit.data.datasets import AudioDataset
from asrkit.data.manifest import COLUMNS, ManifestError, read_manifest
from asrkit.data.mustc import ST_COLUMNS, prepare_mustc, read_segment_yaml, read_text_lines, report_lines
from asrkit.testing.mustc import RATE, TRAIN, talk_audio, write_mustc_fixture

REPO = Path(__file__).resolve().parents[2]


@pytest.fixture
def corpus(tmp_path):
    expected = write_mustc_fixture(tmp_path / "mustc", pairs=("en-de", "en-nl"))
    return tmp_path / "mustc", expected


def test_manifests_per_pair_and_split_with_ids_drops_and_columns(corpus, tmp_path):
    root, expected = corpus
    written = prepare_mustc(root, tmp_path / "m")
    assert set(written) == {f"{p}/{s}" for p in ("en-de", "en-nl") for s in ("train", "dev", "tst-COMMON")}
    for key, p in written.items():
        want = expected[key.split("/")[1]]
        assert p.manifest == tmp_path / "m" / f"{key}.tsv"
        df = read_manifest(p.manifest)
        assert list(df.columns) == COLUMNS + ST_COLUMNS
        assert list(df["id"]) == want["ids"], key  # talks in natural order (ted_2 < ted_10), then by offset
        assert dict(p.dropped) == want["dropped"], key
        assert (p.kept_short, p.separators, p.rows) == (want["kept_short"], want["separators"], len(want["ids"]))
    df = read_manifest(written["en-de/train"].manifest).set_index("id")
    assert df.loc["ted_2_1", "text"] == "A one." and df.loc["ted_2_1", "duration"] == 1.0  # the longer duplicate
    assert df.loc["ted_10_2", "translation"] == "B drei."  # U+2028 is not a line break in MuST-C's files
    assert df.loc["ted_10_0", "speaker"] == "spk.10"
    assert (df.loc["ted_2_5", "offset"], df.loc["ted_2_5", "num_samples"]) == (56000, 8000)  # cut at the wav's end
    test = read_manifest(written["en-de/tst-COMMON"].manifest).set_index("id")
    assert test.loc["ted_7_2", "translation"] == "1984"  # stays text
    assert test.loc["ted_7_1", "translation"] == ""  # unfiltered split: kept
    assert written["en-de/train"].hours == pytest.approx(df["duration"].sum() / 3600)


def test_segments_read_at_their_offset_are_the_talks_samples(corpus, tmp_path):
    root, _ = corpus
    path = prepare_mustc(root, tmp_path / "m", ["en-de"], ["train"])["en-de/train"].manifest
    df = read_manifest(path)
    dataset = AudioDataset(path, crop="start")
    for i, row in enumerate(df.itertuples()):
        talk = talk_audio(Path(row.audio).stem)
        want = talk[row.offset:row.offset + row.num_samples].astype(np.float32) / 32768
        got = read_audio(row.audio, offset=row.offset, num_frames=row.num_samples).numpy()
        np.testing.assert_array_equal(got, want)
        np.testing.assert_array_equal(dataset[i]["source"].numpy(), want)


def test_length_filters_in_seconds_and_characters(corpus, tmp_path):
    root, _ = corpus
    p = prepare_mustc(root, tmp_path / "m", ["en-de"], ["train"], min_seconds=0.55, max_seconds=0.9)["en-de/train"]
    assert list(read_manifest(p.manifest)["id"]) == ["ted_10_1"]  # 0.8 s; 0.02 and 0.5 s too short, 1.0 s too long
    assert (p.dropped["too_short"], p.dropped["too_long"]) == (5, 2)
    p = prepare_mustc(root, tmp_path / "m", ["en-de"], ["train"], max_chars=7)["en-de/train"]
    assert list(read_manifest(p.manifest)["id"]) == ["ted_2_1", "ted_10_0", "ted_10_1"]  # "A one." / "A eins." ...
    assert p.dropped["long_text"] == 3  # "A three.", "A sechs.", "B three.": 8 characters on one side
    p = prepare_mustc(root, tmp_path / "m", ["en-de"], ["train"], filter_splits=())["en-de/train"]
    assert p.rows == 8 and set(p.dropped) == {"duplicate_offset", "past_end"}  # no filter, the unreadable still out
    assert p.kept_short == 1
    lines = report_lines({"en-de/train": p})
    assert any("past_end" in line and "train.yaml:8" in line for line in lines)
    assert any("kept 1 segment(s) shorter than 0.05 s" in line for line in lines)
    assert any("duplicate_offset" in line and "train.yaml:3 (same start as" in line and "train.yaml:4, which is "
               "longer" in line for line in lines)  # the shorter one, first in the yaml, is the one left out


def test_line_parser_reads_both_versions_and_block_yaml_falls_back_to_safe_load(corpus, tmp_path):
    import yaml

    root, _ = corpus
    flow = root / "en-de/data/train/txt/train.yaml"
    entries = read_segment_yaml(flow)
    assert [line for line, _ in entries] == list(range(1, len(TRAIN) + 1))
    def numbers(d):
        return {k: float(v) if k in ("offset", "duration", "rW", "uW") else v for k, v in d.items()}

    assert [numbers(e) for _, e in entries] == [numbers(d) for d in yaml.safe_load(flow.read_text())]
    assert entries[1][1]["rW"] == "3"  # v2.0's extra keys are read and ignored
    block = tmp_path / "block.yaml"
    block.write_text(yaml.safe_dump([{"wav": "ted_2.wav", "offset": 0.5, "duration": 1.0, "speaker_id": "spk.2"}]))
    assert read_segment_yaml(block) == [(1, {"wav": "ted_2.wav", "offset": "0.5", "duration": "1.0",
                                             "speaker_id": "spk.2"})]


def test_text_files_split_at_newline_only(tmp_path):
    path = tmp_path / "t.de"
    path.write_text("eins\u2028zwei\x85\ndrei\x0c\n\nvier", encoding="utf-8")
    assert read_text_lines(path) == ["eins\u2028zwei\x85", "drei\x0c", "", "vier"]


def test_yaml_and_text_line_counts_must_agree(corpus, tmp_path):
    root, _ = corpus
    en = root / "en-de/data/train/txt/train.en"
    en.write_text("".join(en.read_text().splitlines(keepends=True)[:-1]))
    with pytest.raises(ManifestError, match=r"train\.en: 9 lines, but .*train\.yaml has 10 segments") as e:
        prepare_mustc(root, tmp_path / "m", ["en-de"], ["train"])
    assert "\n" not in str(e.value)


def test_missing_wav_is_one_error_naming_the_yaml_line(corpus, tmp_path):
    root, _ = corpus
    (root / "en-de/data/train/wav/ted_10.wav").unlink()
    with pytest.raises(ManifestError, match=r"train\.yaml:1: .*ted_10\.wav not found \(4 segment\(s\) name it\)"):
        prepare_mustc(root, tmp_path / "m", ["en-de"], ["train"])


@pytest.mark.parametrize("line, match", [
    ("- {duration: 1.0, speaker_id: spk.2, wav: ted_2.wav}", r"train\.yaml:1: segment has no 'offset'"),
    ("- {duration: 1.0s, offset: 0.5, wav: ted_2.wav}", r"train\.yaml:1: offset '0.5' and duration '1.0s'"),
    ("- {duration: 1.0, offset: -0.5, wav: ted_2.wav}", r"train\.yaml:1: offset -0.5 and duration 1.0 must be fin"),
    ("- {duration: nan, offset: 0.5, wav: ted_2.wav}", r"train\.yaml:1: offset 0.5 and duration nan must be fin"),
])
def test_bad_yaml_segment_is_one_error(tmp_path, line, match):
    txt = tmp_path / "en-de/data/train/txt"
    txt.mkdir(parents=True)
    (txt / "train.yaml").write_text(line + "\n")
    (txt / "train.en").write_text("A.\n")
    (txt / "train.de").write_text("A.\n")
    with pytest.raises(ManifestError, match=match):
        prepare_mustc(tmp_path, tmp_path / "m", splits=["train"])


def test_pairs_splits_and_corpus_dir_errors(corpus, tmp_path):
    root, _ = corpus
    written = prepare_mustc(root / "en-nl", tmp_path / "m", splits=["dev"])  # one pair's directory will do
    assert list(written) == ["en-nl/dev"]
    with pytest.raises(ManifestError, match=r"en-it/data: not found; pairs here: en-de, en-nl"):
        prepare_mustc(root, tmp_path / "m", ["en-it"])
    with pytest.raises(ManifestError, match=r"tst-HE: not a directory; MuST-C has dev, train, tst-COMMON here"):
        prepare_mustc(root, tmp_path / "m", ["en-de"], ["tst-HE"])
    with pytest.raises(ManifestError, match=r"no en-<xx>/data/ directories"):
        prepare_mustc(tmp_path / "m", tmp_path / "m2")


def test_script_prints_the_table_and_what_was_left_out(corpus, tmp_path):
    root, _ = corpus
    out = subprocess.run([sys.executable, str(REPO / "local/prepare_mustc.py"), str(root), "--out",
                          str(tmp_path / "m"), "--pairs", "en-de", "--splits", "train,tst-COMMON"],
                         capture_output=True, text=True, env={"PYTHONPATH": str(REPO)})
    assert out.returncode == 0, out.stderr
    assert "en-de/train" in out.stderr and "duplicate_offset" in out.stderr and "(unfiltered)" in out.stderr
    assert sorted(p.name for p in (tmp_path / "m/en-de").iterdir()) == ["train.tsv", "tst-COMMON.tsv"]
    out = subprocess.run([sys.executable, str(REPO / "local/prepare_mustc.py"), str(root / "nowhere"), "--out",
                          str(tmp_path / "m")], capture_output=True, text=True, env={"PYTHONPATH": str(REPO)})
    assert out.returncode == 1 and "MuST-C directory not found" in out.stderr and "Traceback" not in out.stderr
