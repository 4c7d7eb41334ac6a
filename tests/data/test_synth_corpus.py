"""The built-in synthetic corpus: real espeak-ng speech, deterministic, LibriSpeech layout."""
import hashlib
import json
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf

from asrkit.data.librispeech import prepare_librispeech
from asrkit.data.manifest import ManifestError, read_manifest
from asrkit.data.synth.corpus import SynthConfig, generate_corpus, make_speakers, write_lm_text
from asrkit.data.validate import validate_manifest

SMALL = dict(pretrain_hours=0.01, finetune_folds=2, fold_minutes=0.15, dev_minutes=0.15, test_minutes=0.15,
             train_speakers=6, dev_speakers=2, test_speakers=2)


def tree_digest(root: Path) -> dict[str, str]:
    return {str(p.relative_to(root)): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(root.rglob("*")) if p.is_file()}


@pytest.fixture(scope="module")
def corpus(tmp_path_factory):
    root = tmp_path_factory.mktemp("synth")
    summary = generate_corpus(root, SynthConfig(**SMALL, num_workers=2))
    return root, summary


def test_same_seed_gives_byte_identical_files_whatever_the_workers(corpus, tmp_path):
    root, _ = corpus
    generate_corpus(tmp_path, SynthConfig(**SMALL, num_workers=1))
    a, b = tree_digest(root), tree_digest(tmp_path)
    assert a.pop("synth_config.yaml") != b.pop("synth_config.yaml")  # records num_workers
    assert len(a) > 20 and a == b


def test_another_seed_gives_other_audio(corpus, tmp_path):
    root, _ = corpus
    generate_corpus(tmp_path, SynthConfig(**{**SMALL, "pretrain_hours": 0.002}, seed=1, num_workers=1))
    ours = {h for p, h in tree_digest(root).items() if p.endswith(".flac")}
    theirs = {h for p, h in tree_digest(tmp_path).items() if p.endswith(".flac")}
    assert not ours & theirs


def test_dev_and_test_speakers_are_disjoint_from_training_speakers(corpus, tmp_path):
    root, _ = corpus
    m = prepare_librispeech(root, tmp_path)
    spk = {s: set(read_manifest(p)["speaker"]) for s, p in m.items()}
    train = spk["pretrain"] | spk["1h"]
    assert train and spk["dev"] and spk["test"]
    assert not train & spk["dev"] and not train & spk["test"] and not spk["dev"] & spk["test"]
    voices = [(s.voice.language, s.voice.variant) for s in make_speakers(SynthConfig())]
    assert len(set(voices)) == len(voices) >= 40  # default: 50 distinct voices


def test_layout_prepares_like_librispeech_with_nested_finetuning_sets(corpus, tmp_path):
    root, summary = corpus
    m = prepare_librispeech(root, tmp_path)
    assert set(m) == {"pretrain", "dev", "test", "10m", "1h"}
    ids = {s: set(read_manifest(p)["id"]) for s, p in m.items()}
    assert ids["10m"] < ids["1h"]
    assert len(ids["1h"]) == summary["1h/0"]["utterances"] + summary["1h/1"]["utterances"]
    for split in ("pretrain", "dev", "test"):
        assert len(ids[split]) == summary[split]["utterances"]
        assert validate_manifest(m[split], num_workers=1).problems == []
    df = read_manifest(m["dev"])
    assert (df["translation"] != "").all() and (df["intent"] != "").all()
    hours = df["duration"].sum() / 3600
    assert hours == pytest.approx(summary["dev"]["hours"], rel=1e-3)
    assert hours >= SMALL["dev_minutes"] / 60  # sizes reached, then stopped


def test_manifest_translation_column_in_each_target_language(corpus, tmp_path):
    root, _ = corpus
    meta = {m["id"]: m for m in map(json.loads, (root / "metadata" / "dev.jsonl").read_text().splitlines())}
    italian = read_manifest(prepare_librispeech(root, tmp_path / "it", splits=["dev"])["dev"])
    assert all(italian["translation"] == [meta[u]["italian"] for u in italian["id"]])  # the default, as before
    for code, key in (("de", "german"), ("nl", "dutch")):
        df = read_manifest(prepare_librispeech(root, tmp_path / code, splits=["dev"], translation=code)["dev"])
        assert list(df.columns) == list(italian.columns)
        assert all(df["translation"] == [meta[u][key] for u in df["id"]])


def test_corpus_without_german_metadata_is_one_line_error(corpus, tmp_path):
    root, _ = corpus
    old = tmp_path / "old"
    (old / "metadata").mkdir(parents=True)
    (old / "dev").symlink_to(root / "dev")
    lines = [json.loads(line) for line in (root / "metadata" / "dev.jsonl").read_text().splitlines()]
    (old / "metadata" / "dev.jsonl").write_text(
        "".join(json.dumps({k: v for k, v in m.items() if k not in ("german", "dutch")}) + "\n" for m in lines))
    with pytest.raises(ManifestError, match=r"dev.jsonl:1: utterance .* has no 'german' translation"):
        prepare_librispeech(old, tmp_path / "m", splits=["dev"], translation="de")
    with pytest.raises(ManifestError, match="translated into it, de, nl"):
        prepare_librispeech(root, tmp_path / "m", splits=["dev"], translation="fr")


def test_audio_is_16k_mono_speech_with_phoneme_timings(corpus):
    root, _ = corpus
    meta = [json.loads(line) for line in (root / "metadata" / "dev.jsonl").read_text().splitlines()]
    m = meta[0]
    spk, chap = m["id"].split("-")[:2]
    wav, sr = sf.read(root / "dev" / spk / chap / f"{m['id']}.flac")
    assert sr == 16000 and wav.ndim == 1 and len(wav) == m["num_samples"]
    assert np.abs(wav).max() > 0.05  # not silence
    assert m["text"] == m["english"].upper() and m["italian"] and m["intent"]
    assert m["german"] and m["dutch"]  # the three MuST-C target languages, grammar.TRANSLATION_KEYS
    times = [t for t, _ in m["phonemes"]]
    assert len(m["phonemes"]) >= len(m["english"].split())  # at least a phoneme per word
    assert times == sorted(times) and times[-1] <= 1000 * len(wav) / sr
    assert len(m["words"]) == len(m["english"].split())
    trans = (root / "dev" / spk / chap / f"{spk}-{chap}.trans.txt").read_text()
    assert f"{m['id']} {m['text']}\n" in trans


def test_lm_text_excludes_held_out_transcripts(tmp_path):
    write_lm_text(tmp_path / "all.txt", 3000, seed=5)
    common = (tmp_path / "all.txt").read_text().splitlines()[0]
    write_lm_text(tmp_path / "lm.txt", 3000, seed=5, exclude=frozenset([common]))
    lines = (tmp_path / "lm.txt").read_text().splitlines()
    assert len(lines) == 3000 and common not in lines
