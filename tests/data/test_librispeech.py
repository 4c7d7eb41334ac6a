"""LibriSpeech / Libri-light prep on a fixture in the official layout, and Kaldi/fairseq I/O."""
import pandas as pd
import pytest
import soundfile as sf

from asrkit.data.librispeech import prepare_librispeech
from asrkit.data.manifest import (COLUMNS, ManifestError, combine_manifests, export_fairseq, import_kaldi,
                                  manifest_texts, read_manifest, summarize_manifests, write_manifest)
from asrkit.testing import make_librispeech_fixture, tone


@pytest.fixture(scope="module")
def fixture_root(tmp_path_factory):
    root = tmp_path_factory.mktemp("corpus")
    return root, make_librispeech_fixture(root)


def test_prepare_librispeech_finds_every_split_and_nested_librilight_sets(fixture_root, tmp_path):
    root, expected = fixture_root
    written = prepare_librispeech(root / "LibriSpeech", tmp_path / "m",
                                  finetuning_dir=root / "librispeech_finetuning")
    assert set(written) == set(expected)
    for split, ids in expected.items():
        df = read_manifest(written[split])
        assert list(df.columns[: len(COLUMNS)]) == COLUMNS
        assert sorted(df["id"]) == sorted(ids), split
    ten_m, one_h, ten_h = (set(read_manifest(written[s])["id"]) for s in ("10m", "1h", "10h"))
    assert ten_m < one_h < ten_h  # Libri-light nesting


def test_manifest_rows_match_audio_and_transcripts(fixture_root, tmp_path):
    root, _ = fixture_root
    written = prepare_librispeech(root / "LibriSpeech", tmp_path / "m", splits=["dev-clean"],
                                  finetuning_dir=None)
    df = read_manifest(written["dev-clean"])
    trans = (root / "LibriSpeech/dev-clean/84/121123/84-121123.trans.txt").read_text().splitlines()
    expected_text = dict(line.split(" ", 1) for line in trans)
    for row in df.itertuples():
        data, sr = sf.read(row.audio)
        assert (len(data), sr) == (row.num_samples, row.sample_rate)
        assert row.duration == pytest.approx(len(data) / sr, abs=1e-4)
        assert row.text == expected_text[row.id]
        assert row.speaker == "84"


def test_manifest_audio_paths_are_relative_on_disk_and_move_with_the_corpus(fixture_root, tmp_path):
    root, _ = fixture_root
    written = prepare_librispeech(root / "LibriSpeech", tmp_path / "m", splits=["test-clean"])
    first = written["test-clean"].read_text().splitlines()[1].split("\t")[1]
    assert not first.startswith("/")
    assert (written["test-clean"].parent / first).is_file()


def test_transcript_without_audio_is_an_error_naming_the_file(tmp_path):
    chap = tmp_path / "LibriSpeech" / "dev" / "1" / "2"
    chap.mkdir(parents=True)
    (chap / "1-2.trans.txt").write_text("1-2-0000 HELLO\n")
    with pytest.raises(ManifestError, match=r"1-2.trans.txt: utterance 1-2-0000 has no audio"):
        prepare_librispeech(tmp_path / "LibriSpeech", tmp_path / "m")


def test_kaldi_import_with_segments(tmp_path):
    sf.write(tmp_path / "rec1.wav", tone(2.0), 16000)
    (tmp_path / "wav.scp").write_text(f"rec1 {tmp_path / 'rec1.wav'}\n")
    (tmp_path / "segments").write_text("u1 rec1 0.00 0.50\nu2 rec1 0.75 2.00\n")
    (tmp_path / "text").write_text("u1 HELLO THERE\nu2 GOOD DAY\n")
    (tmp_path / "utt2spk").write_text("u1 spkA\nu2 spkA\n")
    df = import_kaldi(tmp_path)
    assert list(df["id"]) == ["u1", "u2"]
    assert list(df["offset"]) == [0, 12000]
    assert list(df["num_samples"]) == [8000, 20000]
    assert list(df["speaker"]) == ["spkA", "spkA"]
    assert list(df["text"]) == ["HELLO THERE", "GOOD DAY"]
    write_manifest(df, tmp_path / "out.tsv")
    assert read_manifest(tmp_path / "out.tsv")["offset"].tolist() == [0, 12000]


def test_kaldi_import_rejects_pipes_and_missing_transcripts(tmp_path):
    (tmp_path / "wav.scp").write_text("rec1 sox in.flac -t wav - |\n")
    (tmp_path / "text").write_text("rec1 HI\n")
    with pytest.raises(ManifestError, match="pipe"):
        import_kaldi(tmp_path)
    sf.write(tmp_path / "a.wav", tone(0.1), 16000)
    (tmp_path / "wav.scp").write_text(f"rec1 {tmp_path / 'a.wav'}\nrec2 {tmp_path / 'a.wav'}\n")
    with pytest.raises(ManifestError, match="no transcript for utterance 'rec2'"):
        import_kaldi(tmp_path)


def test_fairseq_export(fixture_root, tmp_path):
    root, _ = fixture_root
    written = prepare_librispeech(root / "LibriSpeech", tmp_path / "m", splits=["test-clean"])
    df = read_manifest(written["test-clean"])
    tsv, ltr, wrd = export_fairseq(df, tmp_path / "fs", "test")
    lines = tsv.read_text().splitlines()
    assert len(lines) == len(df) + 1
    rel, frames = lines[1].split("\t")
    assert sf.info(f"{lines[0]}/{rel}").frames == int(frames)
    words = wrd.read_text().splitlines()[0].split()
    assert words == df["text"].iloc[0].split()
    assert ltr.read_text().splitlines()[0] == " ".join(" ".join(w) + " |" for w in words)


def test_read_manifest_names_missing_columns_and_empty_files(tmp_path):
    p = tmp_path / "bad.tsv"
    pd.DataFrame({"id": ["a"], "audio": ["x.flac"]}).to_csv(p, sep="\t", index=False)
    with pytest.raises(ManifestError, match="missing column"):
        read_manifest(p)
    (tmp_path / "empty.tsv").write_text("")
    with pytest.raises(ManifestError, match="empty.tsv: cannot parse"):
        read_manifest(tmp_path / "empty.tsv")


def test_combined_manifests_keep_every_row_in_order_and_reject_repeated_ids(fixture_root, tmp_path):
    root, _ = fixture_root
    written = prepare_librispeech(root / "LibriSpeech", tmp_path / "m", splits=["dev-clean", "dev-other"])
    clean, other = read_manifest(written["dev-clean"]), read_manifest(written["dev-other"])
    combined = combine_manifests([written["dev-clean"], written["dev-other"]])
    assert list(combined["id"]) == [*clean["id"], *other["id"]]
    with pytest.raises(ManifestError, match="more than one input manifest: " + clean["id"][0]):
        combine_manifests([written["dev-clean"], written["dev-clean"]])
    assert manifest_texts(written.values()) == frozenset(combined["text"])
    summary = summarize_manifests(written)
    assert list(summary) == ["dev-clean", "dev-other"] and summary["dev-other"]["utterances"] == len(other)
