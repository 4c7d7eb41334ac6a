"""The video ViT: token geometry, positions, subsets of tokens, frame mode."""
from __future__ import annotations

import pytest
import torch

from asrkit.models.vit import separable_sincos, video_encoder


def _vit(**kw):
    torch.manual_seed(0)
    args = dict(embed_dim=32, num_layers=2, num_heads=4, mlp_dim=64, patch_size=(2, 8, 8), input_size=(4, 16, 16))
    return video_encoder(**{**args, **kw}).eval()


def test_tubelets_are_ordered_time_slowest_and_counted():
    vit = _vit()
    video = torch.randn(2, 3, 4, 16, 24)
    assert vit.num_tokens(4, 16, 24) == 2 * 2 * 3
    x, grid = vit.embed(video)
    assert grid == (2, 2, 3) and x.shape == (2, 12, 32)
    # token (t=1, h=0, w=2) is tubelet frames 2-3, rows 0-7, columns 16-23
    patch = video[:, :, 2:4, 0:8, 16:24]
    expected = torch.nn.functional.conv3d(patch, vit.patch_embed.weight, vit.patch_embed.bias).flatten(1)
    assert torch.allclose(x[:, 1 * 6 + 0 * 3 + 2], expected, atol=1e-5)
    assert vit(video).shape == (2, 12, 32)


def test_separable_positions_add_a_temporal_and_a_spatial_part():
    pos = separable_sincos((3, 2, 2), 16).view(3, 2, 2, 16)
    # differences between two frames are the same at every spatial position
    assert torch.allclose(pos[1] - pos[0], (pos[1] - pos[0])[0:1, 0:1].expand(2, 2, 16), atol=1e-6)
    assert not torch.allclose(pos[0, 0, 0], pos[0, 1, 1])


def test_a_subset_of_tokens_runs_at_the_positions_of_its_indices():
    vit = _vit()
    video = torch.randn(2, 3, 4, 16, 16)  # 8 tokens
    keep = torch.tensor([[0, 5, 7], [1, 2, 0]])
    keep_padding = torch.tensor([[False, False, False], [False, False, True]])
    out = vit(video, keep, keep_padding)
    assert out.shape == (2, 3, 32)
    alone = vit(video[1:], keep[1:, :2], keep_padding[1:, :2])  # padding does not change the visible tokens
    assert torch.allclose(out[1, :2], alone[0], atol=1e-5)


def test_frame_mode_gives_one_token_per_frame():
    vit = _vit(video_tokens="frame")
    video = torch.randn(2, 3, 4, 16, 16)
    assert vit.num_tokens(4, 16, 16) == 4 and vit(video).shape == (2, 4, 32)


@pytest.mark.parametrize("mode", ["tubelet", "frame"])
def test_learned_positions_are_parameters_for_the_configured_size(mode):
    vit = _vit(pos_embed="learned", video_tokens=mode)
    assert vit(torch.randn(1, 3, 4, 16, 16)).shape[1] == (8 if mode == "tubelet" else 4)
    assert vit.pos_temporal.requires_grad
    with pytest.raises(ValueError, match="learned positions"):
        vit(torch.randn(1, 3, 4, 16, 32))


def test_a_video_that_does_not_tile_is_an_error():
    with pytest.raises(ValueError, match="does not tile"):
        _vit()(torch.randn(1, 3, 3, 16, 16))
