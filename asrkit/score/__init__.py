"""Scoring: WER/CER (and PER over phones) identical to NIST sclite (:mod:`asrkit.score.wer`), and the frame-level
diarization error rate of SUPERB's speaker diarization task (:mod:`asrkit.score.der`; its function ``der`` is not
re-exported, so that ``asrkit.score.der`` stays the module, as ``asrkit.score.wer`` is)."""
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
    PHONE_RESULT_COLUMNS,
    RESULT_COLUMNS,
    UNITS,
    Alignment,
    ErrorCounts,
    ScoreReport,
    align,
    align_many,
    append_result,
    error_counts,
    read_results,
    read_trn,
    score,
    speaker_of,
    text_unit,
    write_trn,
)

__all__ = [
    "PHONE_RESULT_COLUMNS", "RESULT_COLUMNS", "THRESHOLDS", "UNITS", "Alignment", "DerResult", "ErrorCounts",
    "ScoreReport", "align", "align_many", "append_result", "best_threshold", "error_counts", "frames_to_segments",
    "median_filter", "no_score_frames", "read_results", "read_trn", "rttm_to_frames", "score", "speaker_of", "text_unit", "write_trn",
]
