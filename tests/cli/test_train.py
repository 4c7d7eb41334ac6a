"""`asrkit import-checkpoint --from hf|fairseq` writes an asrkit checkpoint with the same outputs."""
import torch
import transformers

from asrkit.checkpoint import load_encoder
from asrkit.testing.parity import perturbed

from ..models.test_wav2vec2_parity import _fairseq_checkpoint, _hf_config


def _load(path):
    model, ckpt = load_encoder(path)
    assert ckpt.kind == "pretrain" and ckpt.trainer is None
    return model.eval()


def test_import_hf_directory_and_fairseq_file_give_the_transformers_outputs(tmp_path, run_cli):
    torch.manual_seed(0)
    hf = perturbed(transformers.Wav2Vec2ForPreTraining(_hf_config(stable=True))).eval()
    hf.save_pretrained(tmp_path / "hf")
    torch.save(_fairseq_checkpoint(hf), tmp_path / "fairseq.pt")
    x = torch.randn(2, 8000)
    with torch.no_grad():
        ref = hf.wav2vec2(x).last_hidden_state
    for kind, src in (("hf", tmp_path / "hf"), ("fairseq", tmp_path / "fairseq.pt")):
        res = run_cli("import-checkpoint", "--from", kind, src, tmp_path / f"{kind}.pt")
        assert res.exit_code == 0, res.output
        with torch.no_grad():
            ours = _load(tmp_path / f"{kind}.pt").extract_features(x).x
        assert (ours - ref).abs().max() < 1e-4, kind


def test_import_of_a_non_checkpoint_directory_fails_clearly(tmp_path, run_cli):
    res = run_cli("import-checkpoint", "--from", "hf", tmp_path, tmp_path / "o.pt")
    assert res.exit_code == 1 and "config.json" in res.output
