"""``asrkit score`` (and ``asrkit decode``): tables, results rows, one-line errors."""


def test_score_prints_tables_and_appends_results(tmp_path, run_cli):
    (tmp_path / "ref.trn").write_text("HELLO WORLD (a-1)\nGOOD DAY (a-2)\nTHE CAT SAT (b-1)\n")
    (tmp_path / "hyp.trn").write_text("HELLO WORD (a-1)\n(a-2)\nTHE CAT SAT ON (b-1)\n")
    args = ["score", "--ref", tmp_path / "ref.trn", "--hyp", tmp_path / "hyp.trn", "--results", tmp_path / "r.tsv",
            "--exp", "e", "--decoder", "greedy", "--split", "test"]
    res = run_cli(*args)
    assert res.exit_code == 0, res.output
    assert "57.14" in res.output and "WORLD -> WORD" in res.output
    run_cli(*args)
    rows = (tmp_path / "r.tsv").read_text().splitlines()
    assert len(rows) == 3 and rows[1].split("\t")[:4] == ["e", "greedy", "test", "57.14"]
    assert (tmp_path / "per_speaker.tsv").exists()


def test_score_names_missing_ids(tmp_path, run_cli):
    (tmp_path / "ref.trn").write_text("HELLO (a-1)\nBYE (a-2)\n")
    (tmp_path / "hyp.trn").write_text("HELLO (a-1)\n")
    res = run_cli("score", "--ref", tmp_path / "ref.trn", "--hyp", tmp_path / "hyp.trn")
    assert res.exit_code == 1 and "a-2" in res.output
