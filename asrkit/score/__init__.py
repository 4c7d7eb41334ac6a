"""Scoring: WER/CER identical to NIST sclite (:mod:`asrkit.score.wer`)."""
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
    "RESULT_COLUMNS", "Alignment", "ErrorCounts", "ScoreReport", "align", "align_many", "append_result",
    "read_results", "read_trn", "score", "speaker_of", "write_trn",
]
