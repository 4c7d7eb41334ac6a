"""The built-in corpus's phone transcription: its word manifests again, text = espeak-ng's phones folded."""
import json
from pathlib import Path

import pandas as pd
import pytest
import soundfile as sf

from asrkit.data.librispeech import prepare_synth_phone_manifests, synth_phones
from asrkit.data.manifest import ManifestError, manifest_row, read_manifest, write_manifest
from asrkit.testing import tone

# espeak-ng en-us "open the door", as metadata/<split>.jsonl stores it: [time in ms, mnemonic]
EVENTS = [[0, "_"], [10, "'oU"], [80, "p"], [120, "@"], [160, "n"], [200, "D"], [230, "@2"], [260, "d"], [300, "'o@"],
          [400, "_:"]]
PHONES = "ow p ah n dh ah d aa r"


@pytest.fixture
def corpus(tmp_path):
    root, manifests = tmp_path / "synth", tmp_path / "manifests"
    (root / "metadata").mkdir(parents=True)
    for split, meta, ids in (("10m", "1h", ["1-2-0000"]), ("test", "test", ["3-4-0000", "3-4-0001"]),
                             ("pretrain", "pretrain", ["5-6-0000"])):
        rows = []
        for utt in ids:
            sf.write(root / f"{utt}.flac", tone(0.5), 16000)
            rows.append(manifest_row(utt, root / f"{utt}.flac", utt.split("-")[0], "OPEN THE DOOR"))
        write_manifest(pd.DataFrame(rows), manifests / f"{split}.tsv")
        with open(root / "metadata" / f"{meta}.jsonl", "a") as f:
            for utt in ids:
                f.write(json.dumps({"id": utt, "phonemes": EVENTS if utt != "3-4-0001" else [[0, "_"]]}) + "\n")
    return root, manifests


def test_phone_manifests_keep_the_rows_with_phones_for_text(corpus, tmp_path):
    root, manifests = corpus
    counts = prepare_synth_phone_manifests(root, manifests, tmp_path / "phones")
    assert set(counts) == {"10m", "test"}  # pretrain is not transcribed; 10m reads the 1h split's metadata
    assert counts["test"]["dropped"] == 1  # only a pause: no phones
    df = read_manifest(tmp_path / "phones" / "10m.tsv")
    assert df["text"].tolist() == [PHONES] and df["words"].tolist() == ["OPEN THE DOOR"]
    assert [Path(a).resolve() for a in df["audio"]] == [(root / "1-2-0000.flac").resolve()]
    assert synth_phones(root / "metadata" / "test.jsonl") == {"3-4-0000": PHONES, "3-4-0001": ""}


def test_errors_name_the_file(corpus, tmp_path):
    root, manifests = corpus
    with pytest.raises(ManifestError, match="dev.jsonl: not found"):
        prepare_synth_phone_manifests(root, manifests, tmp_path / "p", ["dev"])
    (root / "metadata" / "test.jsonl").write_text(json.dumps({"id": "3-4-0000", "phonemes": [[0, "xx"]]}) + "\n")
    with pytest.raises(ManifestError, match="test.jsonl: utterance 3-4-0000: espeak-ng phoneme 'xx'"):
        prepare_synth_phone_manifests(root, manifests, tmp_path / "p", ["test"])
    (root / "metadata" / "test.jsonl").write_text(json.dumps({"id": "9-9-0000", "phonemes": EVENTS}) + "\n")
    with pytest.raises(ManifestError, match="utterance 3-4-0000 .* not in"):
        prepare_synth_phone_manifests(root, manifests, tmp_path / "p", ["test"])
