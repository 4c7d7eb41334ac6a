"""`asrkit export --to hf CKPT OUT_DIR`: a summary of what was written, or one error line naming what is not
exportable."""
import torch
import transformers

from ..models.test_checkpoint_export import TOKENS, ctc_checkpoint, save_checkpoint, tiny_config


def test_export_writes_a_transformers_directory_and_says_what(tmp_path, run_cli):
    ckpt = ctc_checkpoint(tmp_path / "ctc.pt", tiny_config("sew_d"))
    res = run_cli("export", "--to", "hf", ckpt, tmp_path / "hf")
    assert res.exit_code == 0, res.output
    hf = transformers.SEWDForCTC.from_pretrained(tmp_path / "hf", local_files_only=True)
    for text in ("SEWDForCTC", f"{sum(p.numel() for p in hf.parameters()):,}", "config.json, model.safetensors",
                 "preprocessor_config.json", "special_tokens_map.json", "tokenizer_config.json", "vocab.json"):
        assert text in res.output, text
    assert hf.config.vocab_size == len(TOKENS)


def test_a_refused_checkpoint_is_one_error_line_and_a_non_zero_exit(tmp_path, run_cli_as_user):
    cfg = tiny_config("wav2vec2_group_norm")
    ckpt = save_checkpoint(tmp_path / "mid.pt", "midtrain", cfg, {})
    res = run_cli_as_user("export", "--to", "hf", ckpt, tmp_path / "hf")
    assert res.exit_code == 1
    lines = res.output.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith(f"error: {ckpt}: not exportable: a mid-trained speech-translation "
                                                   "model"), res.output
    assert "Traceback" not in res.output and not (tmp_path / "hf").exists()
    assert not (tmp_path / "cache").exists()  # a refusal, not an unexpected error with a crash log


def test_export_refuses_a_non_empty_out_dir_and_an_unknown_target(tmp_path, run_cli):
    torch.manual_seed(0)
    ckpt = ctc_checkpoint(tmp_path / "ctc.pt", tiny_config("wav2vec2_group_norm"))
    (tmp_path / "hf").mkdir()
    (tmp_path / "hf" / "old.txt").write_text("x")
    res = run_cli("export", "--to", "hf", ckpt, tmp_path / "hf")
    assert res.exit_code == 1 and "is not empty" in res.output
    res = run_cli("export", "--to", "onnx", ckpt, tmp_path / "onnx")
    assert res.exit_code == 2 and "Invalid value for '--to'" in res.output


def test_export_help_ends_with_examples(run_cli):
    """The description (what comes before the options) ends with the examples, each using existing options."""
    res = run_cli("export", "--help")
    assert res.exit_code == 0
    description = res.output.split("\nOptions:")[0]
    assert description.rstrip().splitlines()[-3:] == [
        "  Examples:",
        "    asrkit export --to hf exp/pretrained_10m/checkpoint_best.pt exp/hf_ctc",
        "    asrkit export --to hf exp/pretrain/checkpoint_last.pt exp/hf_pretrained",
    ]
