"""The built-in synthetic corpus: real espeak-ng, flite and festival speech in recorded conditions, deterministic,
LibriSpeech layout, with a held-out engine and speaker."""
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
             train_speakers=6, dev_speakers=2, test_speakers=2, unseen_minutes=0.15, other_engines_share=0.5,
             rir=0.5, noise=0.5, telephone=0.2)
HELD_OUT_VOICES = {("flite", "slt"), ("festival", "cmu_us_slt_arctic_hts")}


def metadata(root: Path, split: str) -> list[dict]:
    return [json.loads(line) for line in (root / "metadata" / f"{split}.jsonl").read_text().splitlines()]


def flac(root: Path, split: str, utt: str) -> np.ndarray:
    if split == "1h":
        return sf.read(next((root / "librispeech_finetuning").rglob(f"{utt}.flac")))[0]
    spk, chap = utt.split("-")[:2]
    return sf.read(root / split / spk / chap / f"{utt}.flac")[0]


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
    speakers = make_speakers(SynthConfig())
    espeak = [(s.voice.language, s.voice.variant) for s in speakers if s.voice.engine == "espeak"]
    assert len(set(espeak)) == len(espeak) >= 28  # default: 50 speakers, 30 distinct espeak-ng voices
    assert {s.voice.engine for s in speakers} == {"espeak", "flite", "festival"}
    assert len({s.voice for s in speakers}) == len(speakers)  # the others differ in rate and pitch at least
    # --engines espeak: the espeak-only corpus's speakers, as before the other engines came
    only = make_speakers(SynthConfig(engines="espeak"))
    assert {s.voice.engine for s in only} == {"espeak"} and [s.id for s in only] == [s.id for s in speakers]


def test_layout_prepares_like_librispeech_with_nested_finetuning_sets(corpus, tmp_path):
    root, summary = corpus
    m = prepare_librispeech(root, tmp_path)
    assert set(m) == {"pretrain", "dev", "test", "10m", "1h", "test_unseen_engine", "test_unseen_engine_tel"}
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


def test_every_engine_speaks_with_timings_inside_its_audio(corpus):
    root, _ = corpus
    records = [(split, r) for split in ("pretrain", "1h", "dev", "test") for r in metadata(root, split)]
    assert {r["engine"] for _, r in records} == {"espeak", "flite", "festival"}
    for engine in ("espeak", "flite", "festival"):
        split, r = next((s, r) for s, r in records if r["engine"] == engine)
        ms = 1000 * r["num_samples"] / 16000
        phones = [t for t, _ in r["phonemes"]]
        assert phones == sorted(phones) and 0 <= phones[0] and phones[-1] <= ms, engine
        starts = [t for t, _, _ in r["words"]]
        assert starts == sorted(starts) and starts[-1] < ms and len(r["words"]) == len(r["english"].split()), engine
        assert len(flac(root, split, r["id"])) == r["num_samples"]


def test_held_out_engine_and_speaker_never_in_training_dev_or_pretraining(corpus):
    root, _ = corpus
    unseen = metadata(root, "test_unseen_engine")
    assert unseen and {(r["voice"]["engine"], r["voice"]["variant"]) for r in unseen} == HELD_OUT_VOICES
    held_speakers = {r["speaker"] for r in unseen}
    for split in ("pretrain", "1h", "dev", "test"):
        for r in metadata(root, split):
            assert (r["voice"]["engine"], r["voice"]["variant"]) not in HELD_OUT_VOICES, (split, r["id"])
            assert r["speaker"] not in held_speakers
    assert all(r["condition"] == {} for r in unseen)  # clean


def test_telephone_copy_is_the_same_utterances_without_energy_above_4khz(corpus):
    root, _ = corpus
    clean, tel = metadata(root, "test_unseen_engine"), metadata(root, "test_unseen_engine_tel")
    assert [r["id"] for r in clean] == [r["id"] for r in tel]
    assert all("telephone" in r["condition"] for r in tel)
    for r in clean[:3]:
        a, b = flac(root, "test_unseen_engine", r["id"]), flac(root, "test_unseen_engine_tel", r["id"])
        assert len(a) == len(b) == r["num_samples"]
        high = lambda x: np.sum(np.abs(np.fft.rfft(x)[len(x) * 4200 // 16000:]) ** 2)  # noqa: E731
        assert high(b) < 1e-3 * high(a)


def test_recording_conditions_are_drawn_and_recorded(corpus):
    root, _ = corpus
    records = [r for split in ("pretrain", "1h", "dev", "test") for r in metadata(root, split)]
    conditions = [r["condition"] for r in records]
    rooms = [c["rir"] for c in conditions if "rir" in c]
    noises = [c["noise"] for c in conditions if "noise" in c]
    assert 0.2 < len(rooms) / len(records) < 0.8 and 0.2 < len(noises) / len(records) < 0.8  # p = 0.5
    assert all(SynthConfig.snr_db_low <= n["snr_db"] <= SynthConfig.snr_db_high for n in noises)
    assert any("rir" not in c and "noise" not in c for c in conditions)  # some stay dry and quiet
    assert all(abs(c["gain_db"]) <= 6.0 for c in conditions)  # the level changes everywhere (--gain-db 6)


def test_an_engine_this_machine_lacks_is_one_line_error_naming_its_package(tmp_path, monkeypatch):
    from click.testing import CliRunner

    from asrkit.cli import cli
    from asrkit.data.synth import engines

    real = engines.missing_engines
    monkeypatch.setattr(engines, "missing_engines", lambda names: {
        e: f"{e} is not installed: apt-get install festival festvox-kallpc16k" for e in names if e == "festival"}
        or real([e for e in names if e != "festival"]))
    result = CliRunner().invoke(cli, ["prepare", "synth", str(tmp_path / "c"), "--pretrain-hours", "0.001"])
    assert result.exit_code != 0 and "Traceback" not in result.output
    out = " ".join(result.output.split())
    assert "apt-get install festival" in out and "--engines espeak,flite" in out and "--unseen-minutes 0" in out
    assert not (tmp_path / "c" / "pretrain").exists()


def test_held_out_sets_do_not_depend_on_the_engines_or_conditions_of_the_rest(corpus, tmp_path):
    """So models trained on the espeak-only clean corpus and on the multi-engine one are scored on the same files."""
    root, _ = corpus
    clean = dict(engines="espeak", rir=0, noise=0, eq=0, gain_db=0, telephone=0)
    generate_corpus(tmp_path, SynthConfig(**{**SMALL, "pretrain_hours": 0.001, **clean}, num_workers=1))
    ours, theirs = tree_digest(root), tree_digest(tmp_path)
    for split in ("test_unseen_engine", "test_unseen_engine_tel"):
        mine = {p: h for p, h in ours.items() if p.startswith(split + "/")}
        assert mine and mine == {p: h for p, h in theirs.items() if p.startswith(split + "/")}
        assert (root / "metadata" / f"{split}.jsonl").read_bytes() == (tmp_path / "metadata" / f"{split}.jsonl").read_bytes()
    assert {r["engine"] for r in metadata(tmp_path, "pretrain")} == {"espeak"}
    assert all(r["condition"] == {} for r in metadata(tmp_path, "test"))


@pytest.mark.parametrize("option, value, message", [
    ("--engines", "espeak,mbrola", "--engines: 'espeak,mbrola': give distinct engines among espeak, flite, festival"),
    ("--snr-db-low", "40", "--snr-db-low: 40.0 is above snr_db_high (30.0)"),
])
def test_a_bad_engine_or_snr_range_is_a_usage_error_naming_the_option(tmp_path, option, value, message):
    from click.testing import CliRunner

    from asrkit.cli import cli

    result = CliRunner().invoke(cli, ["prepare", "synth", str(tmp_path / "c"), option, value])
    assert result.exit_code == 2 and message in " ".join(result.output.split()) and "Traceback" not in result.output
