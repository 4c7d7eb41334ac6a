"""Manifest validation: one test per kind of bad input, on real audio written by soundfile."""
from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import soundfile as sf

from asrkit.data.manifest import COLUMNS, read_manifest
from asrkit.data.validate import REASONS, count_rows, fix_manifest, validate_manifest
from asrkit.testing import time_limit

HEADER = "\t".join(COLUMNS)


def write_audio(path: Path, *, seconds: float = 0.2, sr: int = 16000, channels: int = 1) -> int:
    """A 440 Hz sine; returns its length in samples."""
    n = int(seconds * sr)
    wave = 0.3 * np.sin(2 * np.pi * 440 * np.arange(n) / sr).astype("float32")
    sf.write(str(path), np.stack([wave] * channels, axis=1), sr)
    return n


def row(utt_id: str, audio: str, n: int = 3200, sr: int = 16000, text: str = "HELLO WORLD",
        duration: float | None = None) -> str:
    duration = round(n / sr, 4) if duration is None else duration
    return "\t".join([utt_id, audio, str(n), str(sr), str(duration), "spk1", text])


def write_manifest_lines(path: Path, lines: list[str | bytes], end: bytes = b"\n") -> Path:
    data = b"".join((ln if isinstance(ln, bytes) else ln.encode("utf-8")) + end for ln in lines)
    path.write_bytes(data)
    return path


@pytest.fixture
def corpus(tmp_path: Path) -> Path:
    """tmp_path with a.flac and b.wav (0.2 s, 16 kHz, mono)."""
    write_audio(tmp_path / "a.flac")
    write_audio(tmp_path / "b.wav")
    return tmp_path


def problems_of(report) -> list[tuple[int, str, str]]:
    return [(p.line, p.utt_id, p.reason) for p in report.problems]


def test_clean_manifest_has_no_problems(corpus: Path) -> None:
    path = write_manifest_lines(corpus / "train.tsv", [
        HEADER, row("u1", "a.flac"), row("u2", str(corpus / "b.wav")),
    ])
    advanced: list[int] = []
    report = validate_manifest(path, num_workers=2, progress=advanced.append)
    assert report.ok, report.problems
    assert report.num_rows == 2 == count_rows(path) == sum(advanced)
    assert sorted(report.rows) == [2, 3] and report.rows[2]["id"] == "u1"


def test_duplicate_id(corpus: Path) -> None:
    path = write_manifest_lines(corpus / "m.tsv", [HEADER, row("u1", "a.flac"), row("u1", "b.wav")])
    report = validate_manifest(path, num_workers=1)
    assert problems_of(report) == [(3, "u1", "duplicate_id")]
    assert "line 2" in report.problems[0].detail


def test_missing_audio(corpus: Path) -> None:
    path = write_manifest_lines(corpus / "m.tsv", [HEADER, row("u1", "a.flac"), row("u2", "nope.flac")])
    assert problems_of(validate_manifest(path, num_workers=1)) == [(3, "u2", "missing_audio")]


def test_empty_audio(corpus: Path) -> None:
    (corpus / "empty.wav").write_bytes(b"")
    path = write_manifest_lines(corpus / "m.tsv", [HEADER, row("u1", "empty.wav")])
    assert problems_of(validate_manifest(path, num_workers=1)) == [(2, "u1", "empty_audio")]


@pytest.mark.parametrize("name, keep", [("b.wav", 0.5), ("b.wav", 0.01), ("a.flac", 0.5), ("a.flac", 0.05)])
def test_truncated_audio(corpus: Path, name: str, keep: float) -> None:
    data = (corpus / name).read_bytes()
    cut = corpus / f"cut{Path(name).suffix}"
    cut.write_bytes(data[:max(60, int(len(data) * keep))])  # 60 bytes: header intact, no samples
    path = write_manifest_lines(corpus / "m.tsv", [HEADER, row("u1", cut.name)])
    assert problems_of(validate_manifest(path, num_workers=1)) == [(2, "u1", "truncated_audio")]


def test_undecodable_audio(corpus: Path) -> None:
    (corpus / "junk.flac").write_bytes(bytes(range(256)) * 8)
    path = write_manifest_lines(corpus / "m.tsv", [HEADER, row("u1", "junk.flac")])
    assert problems_of(validate_manifest(path, num_workers=1)) == [(2, "u1", "undecodable_audio")]


def test_sample_rate(corpus: Path) -> None:
    n = write_audio(corpus / "low.wav", sr=8000)
    path = write_manifest_lines(corpus / "m.tsv", [HEADER, row("u1", "low.wav", n=n, sr=8000)])
    report = validate_manifest(path, num_workers=1)
    assert problems_of(report) == [(2, "u1", "sample_rate")]
    assert "8000" in report.problems[0].detail
    assert validate_manifest(path, sample_rate=8000, num_workers=1).ok


def test_channels(corpus: Path) -> None:
    write_audio(corpus / "stereo.flac", channels=2)
    path = write_manifest_lines(corpus / "m.tsv", [HEADER, row("u1", "stereo.flac")])
    assert problems_of(validate_manifest(path, num_workers=1)) == [(2, "u1", "channels")]


@pytest.mark.parametrize("n, duration", [(3000, None), (3200, 0.25)])
def test_duration_mismatch(corpus: Path, n: int, duration: float | None) -> None:
    path = write_manifest_lines(corpus / "m.tsv", [HEADER, row("u1", "a.flac", n=n, duration=duration)])
    assert problems_of(validate_manifest(path, num_workers=1)) == [(2, "u1", "duration_mismatch")]


def test_segment_past_end_of_file(corpus: Path) -> None:
    path = write_manifest_lines(corpus / "m.tsv", [
        HEADER + "\toffset", row("u1", "a.flac", n=1600) + "\t1600", row("u2", "a.flac", n=1600) + "\t2000",
    ])
    assert problems_of(validate_manifest(path, num_workers=1)) == [(3, "u2", "duration_mismatch")]


def test_empty_text(corpus: Path) -> None:
    path = write_manifest_lines(corpus / "m.tsv", [HEADER, row("u1", "a.flac", text="")])
    assert problems_of(validate_manifest(path, num_workers=1)) == [(2, "u1", "empty_text")]
    assert validate_manifest(path, text_required=False, num_workers=1).ok


def test_bad_chars(corpus: Path) -> None:
    path = write_manifest_lines(corpus / "m.tsv", [HEADER, row("u1", "a.flac", text="Hello 42")])
    report = validate_manifest(path, num_workers=1)
    assert problems_of(report) == [(2, "u1", "bad_chars")]
    for c in "elo24":
        assert repr(c) in report.problems[0].detail
    assert validate_manifest(path, charset=None, num_workers=1).ok


def test_cli_empty_charset_allows_any_text(corpus: Path) -> None:
    """`--charset ''`: no character check (cased, punctuated MuST-C text; LRS3 transcripts pre-training ignores)."""
    from click.testing import CliRunner

    from asrkit.cli.data import manifest

    path = write_manifest_lines(corpus / "m.tsv", [HEADER, row("u1", "a.flac", text="Hello, 42!")])
    refused = CliRunner().invoke(manifest, ["validate", str(path), "--num-workers", "1"])
    assert refused.exit_code == 1 and "bad_chars" in refused.output
    allowed = CliRunner().invoke(manifest, ["validate", str(path), "--num-workers", "1", "--charset", ""])
    assert allowed.exit_code == 0, allowed.output


def test_non_utf8_line_is_reported_and_the_rest_still_checked(corpus: Path) -> None:
    latin1 = row("u1", "a.flac", text="CAFÉ").encode("latin-1")
    path = write_manifest_lines(corpus / "m.tsv", [HEADER, latin1, row("u2", "b.wav", text="lower")])
    assert problems_of(validate_manifest(path, num_workers=1)) == [
        (2, "u1", "non_utf8"), (3, "u2", "bad_chars"),
    ]


def test_carriage_return(corpus: Path) -> None:
    path = write_manifest_lines(corpus / "m.tsv", [HEADER, row("u1", "a.flac")], end=b"\r\n")
    report = validate_manifest(path, num_workers=1)
    assert problems_of(report) == [(1, "", "carriage_return"), (2, "u1", "carriage_return")]
    assert report.rows[2]["text"] == "HELLO WORLD"  # parsed without the CR


def test_bom_at_file_start_and_inside_a_field(corpus: Path) -> None:
    path = write_manifest_lines(corpus / "m.tsv", [
        "\ufeff" + HEADER, row("u1", "a.flac"), row("u2", "b.wav", text="\ufeffHELLO"),
    ])
    report = validate_manifest(path, num_workers=1)
    assert problems_of(report) == [(1, "", "bom"), (3, "u2", "bom")]
    assert "text" in report.problems[1].detail


def test_malformed_row(corpus: Path) -> None:
    path = write_manifest_lines(corpus / "m.tsv", [
        HEADER, "u1\ta.flac\t3200", row("u2", "b.wav"), row("u3", "a.flac").replace("3200", "many"),
    ])
    report = validate_manifest(path, num_workers=1)
    assert problems_of(report) == [(2, "u1", "malformed_row"), (4, "u3", "malformed_row")]
    assert "3 fields" in report.problems[0].detail


def test_bad_header(corpus: Path) -> None:
    path = write_manifest_lines(corpus / "m.tsv", ["id\tpath\ttext", "u1\ta.flac\tHI"])
    assert problems_of(validate_manifest(path, num_workers=1)) == [(1, "", "bad_header")]


def test_check_audio_false_skips_audio(corpus: Path) -> None:
    path = write_manifest_lines(corpus / "m.tsv", [HEADER, row("u1", "nope.flac")])
    assert validate_manifest(path, check_audio=False).ok


def test_several_problems_on_one_row_are_all_reported(corpus: Path) -> None:
    path = write_manifest_lines(corpus / "m.tsv", [
        HEADER, row("u1", "nope.flac", text="hi"), row("u1", "a.flac"),
    ])
    report = validate_manifest(path, num_workers=1)
    assert problems_of(report) == [
        (2, "u1", "bad_chars"), (2, "u1", "missing_audio"), (3, "u1", "duplicate_id"),
    ]
    assert report.bad_lines == {2, 3} and report.counts()["bad_chars"] == 1
    assert all(p.reason in REASONS for p in report.problems)


def test_fix_manifest_keeps_good_rows_and_writes_rejected(corpus: Path) -> None:
    path = write_manifest_lines(corpus / "m.tsv", [
        HEADER + "\r", row("u1", "a.flac") + "\r", row("u2", "nope.flac"), row("u3", str(corpus / "b.wav")),
    ])
    out = corpus / "fixed"
    kept_path, rejected_path, kept, total = fix_manifest(validate_manifest(path, num_workers=1), out)
    assert (kept_path, rejected_path, kept, total) == (out / "m.tsv", out / "rejected.tsv", 2, 3)
    df = read_manifest(kept_path)
    assert list(df["id"]) == ["u1", "u3"]  # the CR row is repaired, not rejected
    assert [Path(a).resolve() for a in df["audio"]] == [corpus / "a.flac", corpus / "b.wav"]
    assert "../a.flac" in kept_path.read_text()  # re-relativized to the new directory
    assert b"\r" not in kept_path.read_bytes()
    assert validate_manifest(kept_path, num_workers=1).ok
    assert rejected_path.read_text().splitlines() == [
        "line\tid\treason\tdetail", f"3\tu2\tmissing_audio\t{corpus / 'nope.flac'} does not exist",
    ]


def test_fix_manifest_refuses_when_nothing_is_kept(corpus: Path) -> None:
    path = write_manifest_lines(corpus / "m.tsv", [HEADER, row("u1", "nope.flac")])
    out = corpus / "fixed"
    with pytest.raises(ValueError, match="no row passed"):
        fix_manifest(validate_manifest(path, num_workers=1), out)
    assert not out.exists()


def test_nonfinite_samples(corpus: Path) -> None:
    wave = np.zeros(3200, np.float32)
    wave[[7, 9]] = [np.nan, -np.inf]
    sf.write(str(corpus / "nan.wav"), wave, 16000, subtype="FLOAT")
    path = write_manifest_lines(corpus / "m.tsv", [HEADER, row("u1", "nan.wav"), row("u2", "a.flac")])
    report = validate_manifest(path, num_workers=1)
    assert problems_of(report) == [(2, "u1", "nonfinite_audio")]
    assert report.problems[0].detail.endswith("nan.wav: 2 NaN or infinite sample(s), the first at sample 7")


def test_audio_with_no_samples(corpus: Path) -> None:
    sf.write(str(corpus / "none.wav"), np.zeros(0, np.float32), 16000)  # a header, no data
    path = write_manifest_lines(corpus / "m.tsv", [HEADER, row("u1", "none.wav", n=0)])
    report = validate_manifest(path, num_workers=1)
    assert problems_of(report) == [(2, "u1", "empty_audio")] and "holds no samples" in report.problems[0].detail


def test_header_only_manifest(corpus: Path) -> None:
    report = validate_manifest(write_manifest_lines(corpus / "m.tsv", [HEADER]), num_workers=1)
    assert problems_of(report) == [(1, "", "no_rows")] and not report.ok


def test_a_fifo_is_not_opened(corpus: Path) -> None:
    import os

    os.mkfifo(corpus / "pipe.wav")
    path = write_manifest_lines(corpus / "m.tsv", [HEADER, row("u1", "pipe.wav")])
    with time_limit(30):  # opening it would block until a writer came
        report = validate_manifest(path, num_workers=1)
    assert problems_of(report) == [(2, "u1", "missing_audio")] and "named pipe (FIFO)" in report.problems[0].detail
