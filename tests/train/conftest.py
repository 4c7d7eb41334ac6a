import pytest
import yaml

from asrkit.testing import make_tone_manifest

MICRO_MODEL = {
    "conv_feature_layers": "[(32, 10, 5)] + [(32, 3, 2)] * 4 + [(32, 2, 2)] * 2",
    "encoder_layers": 2, "encoder_embed_dim": 32, "encoder_ffn_embed_dim": 64, "encoder_attention_heads": 2,
    "conv_pos": 16, "conv_pos_groups": 4, "latent_vars": 8, "latent_groups": 2, "final_dim": 16,
    "num_negatives": 5, "mask_prob": 0.5, "mask_length": 3, "encoder_layerdrop": 0.1,
}


@pytest.fixture(scope="session")
def tone_data(tmp_path_factory):
    d = tmp_path_factory.mktemp("tones")
    return make_tone_manifest(d, 10, seed=0, name="train.tsv"), make_tone_manifest(d, 4, seed=1, name="valid.tsv")


@pytest.fixture
def micro_config(tone_data, tmp_path):
    train, valid = tone_data
    cfg = {
        "model": MICRO_MODEL,
        "data": {"train_manifest": str(train), "valid_manifest": str(valid), "max_sample_size": 16000,
                 "min_sample_size": 4000},
        "optim": {"lr": 1e-3, "max_updates": 6, "update_freq": 2},
        "trainer": {"max_tokens": 40000, "log_every": 1, "valid_every": 3, "save_every": 2, "num_workers": 0,
                    "tensorboard": False, "seed": 3},
    }
    path = tmp_path / "conf.yaml"
    path.write_text(yaml.safe_dump(cfg))
    return path
