"""``asrkit results``: a results TSV as a table (``asrkit compare``: tests/test_compare.py, ``asrkit benchmark``:
tests/test_benchmark.py)."""
from asrkit.score import append_result


def test_results_shows_every_row_and_a_broken_file_is_a_one_line_error(tmp_path, run_cli):
    path = tmp_path / "results.tsv"
    for exp, wer in (("pretrained_10m", 42.4), ("scratch_10m", 86.7)):
        append_result(path, {"exp": exp, "decoder": "4gram", "split": "test", "wer": wer})
    res = run_cli("results", path)
    assert res.exit_code == 0, res.output
    assert "pretrained_10m" in res.output and "86.7" in res.output
    (tmp_path / "empty.tsv").write_text("")
    bad = run_cli("results", tmp_path / "empty.tsv")
    assert bad.exit_code == 1 and bad.output.strip().splitlines() == [
        f"error: {tmp_path / 'empty.tsv'}: not a results TSV (No columns to parse from file)"]
