"""Text files are UTF-8: reading one that is not is an error naming the file, the line and the bytes."""
from __future__ import annotations

from pathlib import Path


def read_utf8(path: str | Path, error: type[Exception] = ValueError) -> str:
    """The text of ``path``; bytes that are not UTF-8 raise ``error`` (the caller's error class) with the
    file, the line and what to do, instead of Python's message, which names neither."""
    data = Path(path).read_bytes()
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as e:
        line = data.count(b"\n", 0, e.start) + 1
        raise error(f"{path}:{line}: not UTF-8 text ({data[e.start:e.end]!r} at byte {e.start}); re-encode the "
                    "file as UTF-8 (e.g. iconv -f latin1 -t utf-8 IN > OUT)") from None
