"""Scoring: WER/CER identical to NIST sclite (:mod:`asrkit.score.wer`), and the frame-level diarization error
rate of SUPERB's speaker diarization task (:mod:`asrkit.score.der`; its function ``der`` is not re-exported, so that
``asrkit.score.der`` stays the module, as ``asrkit.score.wer`` is)."""
from asrkit.score.der import (
    THRESHOLDS,
    DerResult,
    best_threshold,
    frames_to_segments,
    median_filter,
    no_score_frames,
    rttm_to_frames,
)
from asrkit.score.wer import (
    RESULT_COLUMNS,
    Alignment,
    ErrorCounts,
    ScoreReport,
    align,
    align_many,
    append_result,
    read_results,
    read_trn,
    score,
    speaker_of,
    write_trn,
)

__all__ = [
    "RESULT_COLUMNS", "THRESHOLDS", "Alignment", "DerResult", "ErrorCounts", "ScoreReport", "align", "align_many",
    "append_result", "best_threshold", "frames_to_segments", "median_filter", "no_score_frames",
    "read_results", "read_trn", "rttm_to_frames", "score", "speaker_of", "write_trn",
]
