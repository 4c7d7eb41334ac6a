"""SEW-D through the training stack: a few pre-training updates (MLP heads with BatchNorm, squeezed
context network, contrastive task at the full frame rate), fine-tuning from that checkpoint (heads
dropped, frozen feature encoder) and decoding; named configs load in both tasks."""
import pytest
import torch
import yaml

from asrkit.checkpoint import LAST, load_model, read_checkpoint
from asrkit.decode.infer import compute_emissions
from asrkit.train.finetune import FinetuneModelConfig, build_ctc_model, load_finetune_config, run_finetune
from asrkit.train.metrics import read_metrics
from asrkit.train.pretrain import load_pretrain_config, run_pretrain

from .conftest import MICRO_MODEL

MICRO_SEW_D = {
    **MICRO_MODEL, "model_type": "sew_d", "squeeze_factor": 2, "conv_pos": 7, "predictor_layers": 2,
    "predictor_hidden_dim": 32, "position_buckets": 8, "max_relative_positions": 16,
    "conv_feature_layers": "[(16, 10, 5)] + [(32, 3, 2), (32, 1, 1)] * 2 + [(32, 2, 2)] * 2",
}  # fmt: skip


@pytest.fixture(scope="module")
def sew_d_pretrained(tone_data, tmp_path_factory):
    train, valid = tone_data
    exp = tmp_path_factory.mktemp("sew_d_pt")
    cfg = {"model": MICRO_SEW_D,
           "data": {"train_manifest": str(train), "valid_manifest": str(valid), "max_sample_size": 16000,
                    "min_sample_size": 4000},
           "optim": {"lr": 1e-3, "max_updates": 4},
           "trainer": {"max_tokens": 40000, "log_every": 1, "valid_every": 2, "save_every": 2, "num_workers": 0,
                       "tensorboard": False, "seed": 3}}  # fmt: skip
    path = exp / "conf.yaml"
    path.write_text(yaml.safe_dump(cfg))
    run_pretrain(load_pretrain_config(path), exp / "run")
    return path, exp / "run"


def test_sew_d_pretrains_with_batchnorm_heads(sew_d_pretrained):
    _, exp = sew_d_pretrained
    train = read_metrics(exp / "metrics.tsv")["train"]
    assert sorted(u for u, _ in train["contrastive"]) == [1, 2, 3, 4]
    ckpt = read_checkpoint(exp / LAST)
    assert ckpt.kind == "pretrain" and ckpt.model_config.model_type == "sew_d"
    # the MLP heads' BatchNorm statistics (§3.3) are saved, so a resumed run continues them
    assert "quantizer.output_proj.net.1.running_var" in ckpt.model
    assert ckpt.model["final_proj.net.1.num_batches_tracked"] == 4
    assert not torch.equal(ckpt.model["final_proj.net.1.running_mean"], torch.zeros(32))


def test_sew_d_finetunes_from_its_pretraining_checkpoint_and_decodes(sew_d_pretrained, tone_data, tmp_path):
    _, exp = sew_d_pretrained
    train, valid = tone_data
    cfg = {"model": {"init_checkpoint": str(exp / "checkpoint_last.pt"), "freeze_finetune_updates": 1,
                     "mask_channel_length": 4, "mask_prob": 0.3, "mask_length": 3},
           "data": {"train_manifest": str(train), "valid_manifest": str(valid)},
           "optim": {"lr": 1e-3, "max_updates": 3},
           "trainer": {"max_tokens": 40000, "log_every": 1, "valid_every": 3, "save_every": 3, "tensorboard": False}}
    path = tmp_path / "ft.yaml"
    path.write_text(yaml.safe_dump(cfg))
    run_finetune(load_finetune_config(path), tmp_path / "ft")
    ckpt = read_checkpoint(tmp_path / "ft" / LAST)
    assert ckpt.kind == "ctc" and ckpt.model_config.model_type == "sew_d"
    assert not any(k.startswith(("encoder.quantizer.", "encoder.final_proj.")) for k in ckpt.model)
    pre = read_checkpoint(exp / "checkpoint_last.pt").model
    for k, v in ckpt.model.items():  # the feature encoder is frozen during fine-tuning
        if k.startswith("encoder.feature_encoder."):
            assert torch.equal(v, pre[k.removeprefix("encoder.")]), k
    model, ckpt = load_model(tmp_path / "ft" / LAST)
    em = compute_emissions(model, valid)
    assert len(em.ids) == 4 and all(lp.size(1) == len(ckpt.tokens) for lp in em.log_probs)


def test_named_sew_d_configs_load_in_pretraining_and_finetuning():
    cfg = load_pretrain_config(None, ["model=sew_d_tiny"])  # asrkit pretrain --set model=sew_d_tiny
    assert cfg.model.model_type == "sew_d" and cfg.model.squeeze_factor == 2 and cfg.model.encoder_embed_dim == 384
    model, origin = build_ctc_model(FinetuneModelConfig(arch="sew_tiny"), vocab_size=30)
    assert "sew_tiny" in origin and model.encoder.cfg.model_type == "sew" and model.encoder.final_proj is None
    assert not any(p.requires_grad for p in model.encoder.feature_encoder.parameters())
