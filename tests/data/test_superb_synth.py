"""The synthetic SUPERB corpora: Speech Commands, Fluent Speech Commands and Libri2Mix layouts, speaker-disjoint
splits, FSC labels from the mapping tables, exact LibriMix sources and segments, determinism, the command."""
from __future__ import annotations

import csv
import hashlib
import json
import re
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf
from click.testing import CliRunner

from asrkit.config import FieldError
from asrkit.data.superb import SILENCE, SYNTH_KEYWORDS, UNKNOWN
from asrkit.data.synth import slot_tables
from asrkit.data.synth.grammar import Utterance, vocabulary
from asrkit.data.synth.superb_corpus import (FSC_DIR, IC_LOCATIONS, IC_MEDIA, IC_OBJECTS, KS_DIR, KS_TEST_DIR, NOISES,
                                             UNKNOWN_WORDS, SuperbSynthConfig, generate_superb_corpus, ic_label_triples,
                                             ic_labels, plan_sd, split_speakers)

TINY = dict(train_speakers=3, dev_speakers=2, test_speakers=2, ks_train_per_keyword=2, ks_train_per_unknown=1,
            ks_eval_per_keyword=1, ks_eval_per_unknown=1, ks_test_set_per_class=2, ic_train=6, ic_valid=3, ic_test=3,
            sd_train=3, sd_dev=2, sd_test=2)
MIX = "Libri2Mix/wav16k/max"


@pytest.fixture(scope="module")
def corpus(tmp_path_factory):
    root = tmp_path_factory.mktemp("synth_superb")
    return root, generate_superb_corpus(root, SuperbSynthConfig(**TINY, num_workers=1))


def digests(root: Path) -> dict[str, str]:
    """Every file's sha256; LibriMix's csvs with ``root`` taken out of their absolute paths."""
    out = {}
    for p in sorted(root.rglob("*")):
        if p.is_file() and p.name != "synth_superb_config.yaml":
            data = p.read_bytes().replace(str(root.resolve()).encode(), b"ROOT")
            out[str(p.relative_to(root))] = hashlib.sha256(data).hexdigest()
    return out


def read_csv(path: Path) -> list[dict]:
    with open(path, newline="") as f:
        return list(csv.DictReader(f))


def speaker_of(ks_path: str) -> str:
    return Path(ks_path).name.split("_nohash_")[0]


def test_speech_commands_layout_has_one_second_clips_and_speaker_disjoint_lists(corpus):
    root, summary = corpus
    ks = root / KS_DIR
    assert {p.name for p in ks.iterdir() if p.is_dir()} == {*SYNTH_KEYWORDS, *UNKNOWN_WORDS, "_background_noise_"}
    clips = sorted(str(p.relative_to(ks)) for p in ks.glob("*/*.wav") if p.parent.name != "_background_noise_")
    assert len(clips) == sum(summary[f"ks/{s}"]["files"] for s in ("train", "dev", "test")) == 10 * 4 + 20 * 3
    for c in clips:
        assert re.fullmatch(r"[a-z]+/[0-9a-f]{8}_nohash_\d+\.wav", c)
        info = sf.info(ks / c)
        assert (info.frames, info.samplerate, info.channels, info.subtype) == (16000, 16000, 1, "PCM_16")
    word = sf.read(ks / clips[0], dtype="int16")[0]
    assert np.abs(word).max() > 3000 and np.count_nonzero(word) > 15000  # a word over a noise floor
    lists = {name: (ks / f"{name}_list.txt").read_text().splitlines() for name in ("validation", "testing")}
    train = set(clips) - set(lists["validation"]) - set(lists["testing"])
    assert len(lists["validation"]) == len(lists["testing"]) == 30 and len(train) == 40
    spk = {name: {speaker_of(p) for p in paths} for name, paths in {**lists, "train": train}.items()}
    assert (len(spk["train"]), len(spk["validation"]), len(spk["testing"])) == (3, 2, 2)
    assert not spk["train"] & spk["validation"] and not spk["train"] & spk["testing"]
    assert not spk["validation"] & spk["testing"]
    assert all((ks / p).is_file() for paths in lists.values() for p in paths)
    noises = sorted(ks.glob("_background_noise_/*.wav"))
    assert [p.stem for p in noises] == sorted(NOISES)
    assert all(30 <= sf.info(p).duration <= 60 for p in noises)


def test_speech_commands_test_set_has_the_twelve_classes_by_test_speakers(corpus):
    root, _ = corpus
    test_set = root / KS_TEST_DIR
    assert {p.name for p in test_set.iterdir()} == {*SYNTH_KEYWORDS, UNKNOWN, SILENCE}
    testing = {speaker_of(p) for p in (root / KS_DIR / "testing_list.txt").read_text().splitlines()}
    for d in test_set.iterdir():
        files = sorted(d.glob("*.wav"))
        assert len(files) == TINY["ks_test_set_per_class"]
        assert all(sf.info(f).frames == 16000 for f in files)
        if d.name != SILENCE:
            assert {speaker_of(f.name) for f in files} <= testing


def test_fluent_speech_commands_csvs_and_labels_from_the_mapping_table(corpus):
    root, summary = corpus
    fsc = root / FSC_DIR
    triples = ic_label_triples()
    speakers = {}
    for split, n in (("train", 6), ("valid", 3), ("test", 3)):
        path = fsc / "data" / f"{split}_data.csv"
        assert path.read_text().splitlines()[0] == ",path,speakerId,transcription,action,object,location"
        rows = read_csv(path)
        assert [int(r[""]) for r in rows] == list(range(n)) == list(range(summary[f"ic/{split}"]["files"]))
        for r in rows:
            assert re.fullmatch(rf"wavs/speakers/{r['speakerId']}/[0-9a-f-]{{36}}\.wav", r["path"])
            assert sf.info(fsc / r["path"]).samplerate == 16000 and r["transcription"][0].isupper()
            assert (r["action"], r["object"], r["location"]) in triples
        speakers[split] = {r["speakerId"] for r in rows}
    assert not speakers["train"] & speakers["valid"] and not speakers["train"] & speakers["test"]


def test_the_fsc_mapping_is_fsc_sized_and_names_grammar_values():
    triples = ic_label_triples()
    assert 30 <= len(triples) <= 60
    assert len({t[0] for t in triples}) <= 8 and len({t[1] for t in triples}) <= 14
    assert {t[2] for t in triples} == {"none", "kitchen", "bedroom", "washroom"}
    values = lambda *tables: {f.value for t in tables for f in t}
    assert set(IC_OBJECTS) <= values(slot_tables.SWITCHABLES, slot_tables.COVERS)
    assert set(IC_LOCATIONS) <= values(slot_tables.ROOMS) and set(IC_MEDIA) <= values(slot_tables.MEDIA_ACTIONS)
    u = lambda intent, **slots: Utterance("", "", "", "", intent, slots)
    assert ic_labels(u("device_on", device="ceiling light", room="bathroom")) == ("activate", "lights", "washroom")
    assert ic_labels(u("close_cover", device="curtains")) == ("close", "blinds", "none")
    assert ic_labels(u("media_control", action="volume_down")) == ("decrease", "volume", "none")
    assert ic_labels(u("device_on", device="television", room="kitchen")) is None  # only lights and heat have rooms
    assert ic_labels(u("device_on", device="robot vacuum")) is None and ic_labels(u("set_alarm", time="07:00")) is None


def test_librimix_mixtures_are_the_sum_of_sources_silent_outside_their_segments(corpus):
    root, _ = corpus
    speakers = {}
    for split, n in (("train-100", 3), ("dev", 2), ("test", 2)):
        rows = read_csv(root / MIX / "metadata" / f"mixture_{split}_mix_clean.csv")
        assert list(rows[0]) == ["mixture_ID", "mixture_path", "source_1_path", "source_2_path", "length"]
        meta = [json.loads(line) for line in (root / "Libri2Mix/metadata_synth" / f"{split}.jsonl").open()]
        assert len(rows) == len(meta) == n
        speakers[split] = set()
        for r, m in zip(rows, meta):
            assert r["mixture_ID"] == m["mixture_ID"]
            assert re.fullmatch(r"\d+-\d+-\d{4}_\d+-\d+-\d{4}", r["mixture_ID"])
            paths = [Path(r[k]) for k in ("mixture_path", "source_1_path", "source_2_path")]
            assert [p.parent.name for p in paths] == ["mix_clean", "s1", "s2"] and all(p.is_absolute() for p in paths)
            mix, s1, s2 = (sf.read(p, dtype="int16")[0].astype(np.int32) for p in paths)
            assert len(mix) == len(s1) == len(s2) == int(r["length"]) == m["length"]
            assert 2 * 16000 < len(mix) < 12 * 16000
            np.testing.assert_array_equal(mix, s1 + s2)
            spk = [s["speaker"] for s in m["sources"]]
            assert spk[0] != spk[1] and r["mixture_ID"].split("_")[0].startswith(spk[0] + "-")
            for source, x in zip(spk, (s1, s2)):
                inside = np.zeros(len(x), bool)
                for who, start, end in m["segments"]:
                    if who == source:
                        inside[start:end] = True
                        assert np.abs(x[start:start + 160]).max() > 0 and np.abs(x[end - 160:end]).max() > 0
                assert inside.any() and not x[~inside].any()
            speakers[split] |= set(spk)
    assert not speakers["train-100"] & speakers["dev"] and not speakers["train-100"] & speakers["test"]


def test_mixtures_have_single_speaker_stretches_overlap_and_sometimes_a_pause():
    cfg = SuperbSynthConfig()
    starts = [m.start2 for ms in plan_sd(cfg, split_speakers(cfg)).values() for m in ms]
    assert 0.05 < np.mean(np.array(starts) > 1) < 0.3 and min(starts) >= 0.15  # > 1: a pause before speaker 2


def test_same_config_gives_the_same_bytes_whatever_the_workers(corpus, tmp_path):
    root, _ = corpus
    generate_superb_corpus(tmp_path, SuperbSynthConfig(**TINY, num_workers=2))
    a, b = digests(root), digests(tmp_path)
    assert len(a) > 150 and a == b


def test_word_lists_are_the_grammar_words():
    words = {w.lower() for w in vocabulary()}
    assert set(SYNTH_KEYWORDS) <= words and set(UNKNOWN_WORDS) <= words
    assert len(set(UNKNOWN_WORDS)) == 20 and not set(UNKNOWN_WORDS) & set(SYNTH_KEYWORDS)


def test_bad_config_and_unknown_task_are_errors_before_anything_is_written(tmp_path):
    with pytest.raises(FieldError, match="dev_speakers"):
        SuperbSynthConfig(dev_speakers=1)
    with pytest.raises(ValueError, match="at most 416"):
        SuperbSynthConfig(train_speakers=400, dev_speakers=10, test_speakers=10)
    with pytest.raises(ValueError, match=r"unknown task\(s\) pr: choose from ks, ic, sd"):
        generate_superb_corpus(tmp_path, SuperbSynthConfig(**TINY), ("ks", "pr"))
    assert not any(tmp_path.iterdir())


def test_prepare_synth_superb_command(tmp_path):
    from asrkit.cli import cli

    runner = CliRunner(env={"ASRKIT_DEBUG": "1"})
    options = [f"--{k.replace('_', '-')}={v}" for k, v in TINY.items()]
    result = runner.invoke(cli, ["prepare", "synth-superb", str(tmp_path / "c"), "--tasks", "ic", *options,
                                 "--num-workers", "1"], catch_exceptions=False)
    assert result.exit_code == 0, result.output
    assert "ic/valid" in result.output and "ks/train" not in result.output
    assert (tmp_path / "c" / FSC_DIR / "data/test_data.csv").is_file() and not (tmp_path / "c" / KS_DIR).exists()
    for args, code, message in (
        (["--sd-level-db", "-1"], 2, "error: --sd-level-db: -1.0 is out of range: must be in [0, 30]"),
        (["--tasks", "ks,xx"], 1, "error: unknown task(s) xx: choose from ks, ic, sd"),
    ):
        result = runner.invoke(cli, ["prepare", "synth-superb", str(tmp_path / "d"), *args], catch_exceptions=False)
        assert result.exit_code == code and result.output.strip() == message, result.output
    assert not (tmp_path / "d").exists()
