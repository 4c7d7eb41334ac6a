"""The synthetic MuST-C: talks of espeak-ng utterances in MuST-C's layout, read unchanged by the MuST-C
reader, a segment at its offset being exactly its synthesised utterance; deterministic; pairs share the talks."""
from __future__ import annotations

import hashlib
import json
import multiprocessing as mp
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

import numpy as np
import pytest

from asrkit.data.audio import read_audio
from asrkit.data.datasets import AudioDataset
from asrkit.data.manifest import read_manifest
from asrkit.data.mustc import prepare_mustc
from asrkit.data.synth import mustc_corpus
from asrkit.data.synth.corpus import _single_threaded_blas, _worker_init
from asrkit.data.synth.espeak import Voice
from asrkit.data.synth.mustc_corpus import (MustcSynthConfig, available_languages, generate_mustc_corpus,
                                            plan_talks, render_utterance)

TINY = dict(train_talks=2, dev_talks=1, test_talks=1, min_utterances=2, max_utterances=3)


def tree_digest(root: Path) -> dict[str, str]:
    return {str(p.relative_to(root)): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(root.rglob("*")) if p.is_file()}


def synthesise_again(meta: list[dict]) -> list[np.ndarray]:
    """The utterances of metadata records rendered anew, in a worker set up as the generator's are (one BLAS
    thread: the resampler's matrix product rounds otherwise, one sample in 10^4 off by one LSB)."""
    with _single_threaded_blas(), ProcessPoolExecutor(1, mp_context=mp.get_context("spawn"),
                                                      initializer=_worker_init) as pool:
        return list(pool.map(render_utterance, [m["english"] for m in meta], [Voice(**m["voice"]) for m in meta],
                             [m["seed"] for m in meta]))


@pytest.fixture(scope="module")
def corpus(tmp_path_factory):
    root = tmp_path_factory.mktemp("synth_mustc")
    summary = generate_mustc_corpus(root, MustcSynthConfig(**TINY, num_workers=2), ["en-it"])
    return root, summary


def test_reader_reads_the_layout_and_each_segment_is_its_synthesised_utterance(corpus, tmp_path):
    root, summary = corpus
    written = prepare_mustc(root, tmp_path / "m")
    assert set(written) == {"en-it/train", "en-it/dev", "en-it/tst-COMMON"}
    for split in ("train", "dev", "tst-COMMON"):
        p = written[f"en-it/{split}"]
        meta = [json.loads(line) for line in (root / "metadata" / f"{split}.jsonl").read_text().splitlines()]
        df = read_manifest(p.manifest)
        assert not p.dropped and p.rows == len(meta) == summary[split]["segments"]
        assert p.talks == summary[split]["talks"]
        assert p.hours == pytest.approx(summary[split]["hours"], abs=1e-5)
        assert sorted(df["id"]) == sorted(m["id"] for m in meta)
        dataset = AudioDataset(p.manifest, crop="start")
        by_id = {m["id"]: m for m in meta}
        utterances = synthesise_again([by_id[i] for i in df["id"]])
        for i, row in enumerate(df.itertuples()):
            m = by_id[row.id]
            assert (row.offset, row.num_samples, row.text) == (m["offset"], m["num_samples"], m["english"])
            assert row.translation == m["translations"]["it"] and row.speaker == m["speaker"]
            want = utterances[i].astype(np.float32) / 32768
            got = read_audio(row.audio, offset=row.offset, num_frames=row.num_samples).numpy()
            np.testing.assert_array_equal(got, want)
            np.testing.assert_array_equal(dataset[i]["source"].numpy(), want)
            assert np.abs(want).max() > 0.05  # speech, not the pause around it


def test_splits_have_disjoint_talks_and_held_out_voices():
    cfg = MustcSynthConfig(train_talks=30, dev_talks=5, test_talks=5)
    talks = plan_talks(cfg)
    by_split = {s: [t for t in talks if t.split == s] for s in ("train", "dev", "tst-COMMON")}
    assert {s: len(t) for s, t in by_split.items()} == {"train": 30, "dev": 5, "tst-COMMON": 5}
    assert len({t.name for t in talks}) == len({t.speaker for t in talks}) == 40
    voices = {s: {(t.voice.language, t.voice.variant) for t in ts} for s, ts in by_split.items()}
    assert len(voices["train"]) == 30 and len(voices["dev"]) == len(voices["tst-COMMON"]) == 5
    assert not voices["train"] & voices["dev"] and not voices["train"] & voices["tst-COMMON"]
    assert not voices["dev"] & voices["tst-COMMON"]
    many = plan_talks(MustcSynthConfig(train_talks=500, dev_talks=5, test_talks=5))  # more talks than voices
    held = {(t.voice.language, t.voice.variant) for t in many if t.split != "train"}
    assert not held & {(t.voice.language, t.voice.variant) for t in many if t.split == "train"}


def test_same_seed_gives_the_same_files_whatever_the_workers(corpus, tmp_path):
    root, _ = corpus
    generate_mustc_corpus(tmp_path, MustcSynthConfig(**TINY, num_workers=1), ["en-it"])
    a, b = tree_digest(root), tree_digest(tmp_path)
    assert a.pop("synth_mustc_config.yaml") != b.pop("synth_mustc_config.yaml")  # records num_workers
    assert len(a) > 10 and a == b


def test_yaml_and_text_files_are_line_aligned_like_mustc(corpus):
    root, _ = corpus
    txt = root / "en-it/data/train/txt"
    yaml_lines = (txt / "train.yaml").read_text().splitlines()
    assert len(yaml_lines) == len((txt / "train.en").read_text().splitlines()) == \
        len((txt / "train.it").read_text().splitlines())
    first = yaml_lines[0]
    assert first.startswith("- {duration: ") and ", offset: " in first and ", speaker_id: spk." in first
    assert first.endswith(".wav}")


def test_pairs_share_the_english_talks_through_hard_links(tmp_path, monkeypatch):
    # a second pair the grammar can serve today: "xx" is Italian again (en-de and en-nl wait for the grammar)
    monkeypatch.setitem(mustc_corpus.TRANSLATION_KEYS, "xx", "italian")
    cfg = MustcSynthConfig(train_talks=1, dev_talks=1, test_talks=1, min_utterances=1, max_utterances=1)
    generate_mustc_corpus(tmp_path, cfg, ["en-it", "en-xx"])
    for split in ("train", "dev", "tst-COMMON"):
        a, b = tmp_path / "en-it/data" / split, tmp_path / "en-xx/data" / split
        wavs = sorted(p.name for p in (a / "wav").iterdir())
        assert wavs == sorted(p.name for p in (b / "wav").iterdir()) and len(wavs) == 1
        assert (a / "wav" / wavs[0]).stat().st_ino == (b / "wav" / wavs[0]).stat().st_ino
        for ext in ("yaml", "en"):
            assert (a / "txt" / f"{split}.{ext}").read_text() == (b / "txt" / f"{split}.{ext}").read_text()
        assert (a / "txt" / f"{split}.it").read_text() == (b / "txt" / f"{split}.xx").read_text()


def test_a_pair_the_grammar_cannot_translate_into_is_a_clear_error(tmp_path, monkeypatch):
    with pytest.raises(ValueError, match=r"en-fr: the synthetic corpus translates into de, it, nl only"):
        generate_mustc_corpus(tmp_path, MustcSynthConfig(**TINY), ["en-it", "en-fr"])
    monkeypatch.setitem(mustc_corpus.TRANSLATION_KEYS, "tlh", "klingon")
    with pytest.raises(ValueError, match=r"en-tlh: the grammar has no Klingon translation yet \(Utterance.klingon\); "
                                         r"choose from .*en-it"):
        generate_mustc_corpus(tmp_path, MustcSynthConfig(**TINY), ["en-tlh"])
    assert not any(tmp_path.iterdir())  # nothing written
    assert "it" in available_languages()


def test_prepare_synth_mustc_command(tmp_path):
    from click.testing import CliRunner

    from asrkit.cli import cli

    result = CliRunner().invoke(cli, ["prepare", "synth-mustc", str(tmp_path / "c"), "--pairs", "en-it",
                                      "--train-talks", "1", "--dev-talks", "1", "--test-talks", "1",
                                      "--min-utterances", "1", "--max-utterances", "1", "--num-workers", "1"])
    assert result.exit_code == 0, result.output
    assert "tst-COMMON" in result.output and (tmp_path / "c/en-it/data/tst-COMMON/txt/tst-COMMON.it").is_file()
    result = CliRunner().invoke(cli, ["prepare", "synth-mustc", str(tmp_path / "d"), "--min-pause", "2",
                                      "--max-pause", "1"])
    assert result.exit_code == 2 and "max_pause (1.0) must be >= min_pause (2.0)" in result.output
