"""AV manifest validation: each AV reason code from a clip that has that problem, and --fix."""
from __future__ import annotations

import pytest

from asrkit.data.validate import REASONS, fix_manifest, validate_manifest
from asrkit.testing.av import write_audio_only, write_av_manifest, write_clip, write_garbage

AV_CODES = ("missing_video", "missing_video_stream", "missing_audio_stream", "silent_audio", "undecodable_video",
            "av_duration_mismatch", "frame_size", "fps")


@pytest.fixture(scope="module")
def av_report(tmp_path_factory):
    d = tmp_path_factory.mktemp("av")
    clips = {
        "good": write_clip(d / "good.mp4", 0.8, 1),
        "gone": d / "gone.mp4",
        "nostream": write_audio_only(d / "nostream.mp4"),
        "mute": write_clip(d / "mute.mp4", 0.8, 2, audio="none"),
        "quiet": write_clip(d / "quiet.mp4", 0.8, 3, audio="silent"),
        "broken": write_garbage(d / "broken.mp4"),
        "short_audio": write_clip(d / "short_audio.mp4", 0.8, 4, audio_seconds=0.5),
        "big": write_clip(d / "big.mp4", 0.8, 5, size=48),
        "fast": write_clip(d / "fast.mp4", 0.8, 6, fps=30),
    }
    manifest = write_av_manifest(d / "av.tsv", clips, text="A")
    report = validate_manifest(manifest, fps=25, frame_size=(32, 32), num_workers=1)
    return report, d


def test_av_reason_codes_are_documented():
    assert all(code in REASONS for code in AV_CODES)


@pytest.mark.parametrize("utt, code", [
    ("gone", "missing_video"), ("nostream", "missing_video_stream"), ("mute", "missing_audio_stream"),
    ("quiet", "silent_audio"), ("broken", "undecodable_video"), ("short_audio", "av_duration_mismatch"),
    ("big", "frame_size"), ("fast", "fps"),
])
def test_av_problem_is_reported_with_its_line(av_report, utt, code):
    report, _ = av_report
    lines = {row["id"]: ln for ln, row in report.rows.items()}
    found = [p for p in report.problems if p.utt_id == utt and p.reason == code]
    assert found, [(p.utt_id, p.reason, p.detail) for p in report.problems]
    assert found[0].line == lines[utt]


def test_good_clip_passes_and_an_unreadable_stream_gets_no_duration_check(av_report):
    report, _ = av_report
    assert not [p for p in report.problems if p.utt_id == "good"]
    assert [p.reason for p in report.problems if p.utt_id == "mute"] == ["missing_audio_stream"]


def test_fix_keeps_good_rows_with_paths_that_resolve(av_report, tmp_path):
    from asrkit.data.manifest import read_manifest

    report, _ = av_report
    kept, rejected, n, total = fix_manifest(report, tmp_path / "fixed")
    assert (n, total) == (1, 9)
    df = read_manifest(kept)
    assert list(df["id"]) == ["good"]
    assert validate_manifest(kept, fps=25, frame_size=(32, 32), num_workers=1).ok


def test_av_header_needs_the_av_columns(tmp_path):
    (tmp_path / "m.tsv").write_text("id\taudio\tnum_samples\tsample_rate\tduration\tspeaker\ttext\tvideo\n"
                                    "a\tx.mp4\t10\t16000\t0.0006\ts\tA\tx.mp4\n")
    report = validate_manifest(tmp_path / "m.tsv", check_audio=False)
    assert [p.reason for p in report.problems] == ["bad_header"]
    assert "num_frames" in report.problems[0].detail


def test_cli_validate_takes_fps_and_frame_size(av_report):
    from click.testing import CliRunner

    from asrkit.cli.data import manifest

    _, d = av_report
    result = CliRunner().invoke(manifest, ["validate", str(d / "av.tsv"), "--charset", "A", "--fps", "25",
                                           "--frame-size", "32x32", "--num-workers", "1"])
    assert result.exit_code == 1
    assert "frame_size" in result.output and "fps" in result.output
    bad = CliRunner().invoke(manifest, ["validate", str(d / "av.tsv"), "--frame-size", "32"])
    assert bad.exit_code == 2
