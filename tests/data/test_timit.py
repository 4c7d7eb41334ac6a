"""TIMIT (LDC93S1) in LDC's layout -> phone manifests: the splits of Kaldi's egs/timit/s5, SA sentences left out,
61 -> 48 -> 39 folding, SPHERE audio, either case of the names, one-line errors naming what is missing."""
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from asrkit.data.manifest import ManifestError, read_manifest
from asrkit.data.timit import CORE_TEST_SPEAKERS, DEV_SPEAKERS, prepare_timit
from asrkit.data.tokenizer import PhoneTokenizer, load_tokenizer
from asrkit.testing.timit import EXPECTED, PHN_39, PHN_48, SENTENCE, write_timit

ROOT = Path(__file__).resolve().parents[2]


def test_speaker_lists_are_kaldis():
    assert len(CORE_TEST_SPEAKERS) == 24 and len(DEV_SPEAKERS) == 50 and not CORE_TEST_SPEAKERS & DEV_SPEAKERS
    assert sum(s.startswith("f") for s in CORE_TEST_SPEAKERS) == 8  # a woman per dialect region


@pytest.mark.parametrize("upper", [True, False], ids=["ldc", "lowercase"])
def test_splits_exclude_sa_and_fold_the_phones(tmp_path, upper):
    corpus = write_timit(tmp_path / "timit", upper=upper)
    counts = prepare_timit(corpus, tmp_path / "manifests")
    assert {k: c["utterances"] for k, c in counts.items()} == {k: len(v) for k, v in EXPECTED.items()}
    assert len(counts["test"]["missing"]) == 22 and "faks0" not in counts["dev"]["missing"]
    for split, ids in EXPECTED.items():
        df = read_manifest(tmp_path / "manifests" / f"{split}.tsv")
        assert df["id"].tolist() == ids  # no SA sentence, no speaker of another split
        assert set(df["text"]) == {" ".join(PHN_39)} and set(df["phones48"]) == {" ".join(PHN_48)}
        assert set(df["words"]) == {SENTENCE}
        assert (df["sample_rate"] == 16000).all() and (df["num_samples"] == 9600).all()  # read from SPHERE headers
        assert all(Path(a).is_file() for a in df["audio"])
    tokens = load_tokenizer(tmp_path / "manifests" / "tokens.txt")
    assert isinstance(tokens, PhoneTokenizer) and len(tokens) == 39  # the blank and the 38 phones (no sil)
    assert tokens.decode(tokens.encode(" ".join(PHN_39))) == " ".join(PHN_39)


def test_the_corpus_may_sit_one_directory_down(tmp_path):
    write_timit(tmp_path / "LDC93S1" / "TIMIT")
    assert prepare_timit(tmp_path / "LDC93S1", tmp_path / "m")["train"]["utterances"] == 4


def test_a_wrong_layout_is_an_error_naming_what_is_missing(tmp_path):
    corpus = write_timit(tmp_path / "timit")
    with pytest.raises(ManifestError, match="not found; TIMIT is LDC93S1"):
        prepare_timit(tmp_path / "nowhere", tmp_path / "m")
    shutil.rmtree(corpus / "TEST")
    with pytest.raises(ManifestError, match=r"no TEST/ directory .*LDC93S1"):
        prepare_timit(corpus, tmp_path / "m")

    corpus = write_timit(tmp_path / "t2")
    (corpus / "TRAIN" / "DR2" / "FAEM0" / "SX132.PHN").unlink()
    with pytest.raises(ManifestError, match=r"SX132.WAV: no SX132.PHN beside it"):
        prepare_timit(corpus, tmp_path / "m")

    corpus = write_timit(tmp_path / "t3")
    (corpus / "TRAIN" / "DR1" / "FCJF0" / "SX127.PHN").write_text("0 100 h#\n100 200 xx\n")
    with pytest.raises(ManifestError, match=r"SX127.PHN: 'xx' is not a TIMIT phone"):
        prepare_timit(corpus, tmp_path / "m")

    corpus = write_timit(tmp_path / "t4")
    for spk in ("DR1/MDAB0", "DR2/MTAS1"):
        shutil.rmtree(corpus / "TEST" / spk)
    with pytest.raises(ManifestError, match=r"no SI/SX utterances of the 24 speakers of its list for the test split"):
        prepare_timit(corpus, tmp_path / "m")


def test_the_script_is_one_line_on_errors_and_a_table_otherwise(tmp_path):
    script = [sys.executable, str(ROOT / "local" / "prepare_timit.py")]
    env = {"PYTHONPATH": str(ROOT), "COLUMNS": "200", "PATH": "/usr/bin:/bin"}
    bad = subprocess.run([*script, tmp_path, "--out", tmp_path / "m"], capture_output=True, text=True, env=env)
    assert bad.returncode == 1 and len(bad.stderr.strip().splitlines()) == 1 and "no TRAIN/ and no TEST/" in bad.stderr
    ok = subprocess.run([*script, write_timit(tmp_path / "timit"), "--out", tmp_path / "m"], capture_output=True,
                        text=True, env=env)
    assert ok.returncode == 0, ok.stderr
    assert "not the complete corpus" in ok.stdout + ok.stderr and (tmp_path / "m" / "test.tsv").is_file()
