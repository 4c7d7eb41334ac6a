"""The video encoder of multi-stage multi-modal pre-training (Jain et al., 2024, §3.4): a ViT (Dosovitskiy et
al., 2021) over space-time tubelets as MAE-ST (Feichtenhofer et al., 2022), or over one embedding per frame
for CLR.

- ``tubelet``: ``Conv3d(kernel = stride = (pt, ph, pw))`` (MAE-ST ``t_patch_size 2``, 16 x 16 patches) ->
  tokens ordered (t, h, w), t slowest -> + space-time positions -> pre-LN blocks -> LayerNorm.
- ``frame``: the 2-D patch embedding of every frame, averaged over space -> one token per frame (§3.4:
  "spatial patches reduced to one embedding per frame", CLIP/VideoCLIP style) -> + temporal positions ->
  the same blocks.

Positions: ``sincos`` (default) is fixed and separable, a temporal 1-D sin-cos table plus a spatial 2-D one
(MAE's ``get_2d_sincos_pos_embed``: half the channels for h, half for w), summed per token: separable in t and
(h, w) like MAE-ST's ``sep_pos_embed``, fixed like the sinusoid table of VideoMAE, on which the paper says its
encoder is based. ``learned`` is MAE-ST's own choice, learned separable tables (init N(0, 0.02)), for a fixed
input size. The blocks are ``asrkit.models.components.EncoderLayer`` in pre-LN mode, which is the ViT block
(x + MHSA(LN(x)), x + MLP(LN(x)), GELU MLP). Any subset of tokens can run (``keep``, for MAE).

Video is ``(N, 3, T, H, W)`` float (normalised); shapes of tokens are ``(N, L, D)``; padding True at padding.
"""
from __future__ import annotations

import torch
from torch import Tensor, nn

from asrkit.models.components import EncoderLayer, FeedForward, SelfAttention, attention_dtype, key_mask


def sincos_1d(positions: Tensor, dim: int) -> Tensor:
    """MAE ``get_1d_sincos_pos_embed_from_grid``: ``(...)`` -> ``(..., dim)``, sin in the first half, then cos."""
    omega = 1.0 / 10000 ** (torch.arange(dim // 2, dtype=torch.float32, device=positions.device) / (dim / 2))
    angles = positions.float().unsqueeze(-1) * omega
    return torch.cat([angles.sin(), angles.cos()], dim=-1)


def separable_sincos(grid: tuple[int, int, int], dim: int, device: torch.device | None = None) -> Tensor:
    """Fixed space-time positions of a ``(T', H', W')`` token grid -> ``(T' * H' * W', dim)``, (t, h, w) order:
    temporal 1-D sin-cos + spatial 2-D sin-cos (h on the first half of the channels, w on the second)."""
    t, h, w = grid
    tt, hh, ww = torch.meshgrid(*(torch.arange(n, device=device) for n in grid), indexing="ij")
    spatial = torch.cat([sincos_1d(hh, dim // 2), sincos_1d(ww, dim // 2)], dim=-1)
    return (sincos_1d(tt, dim) + spatial).reshape(t * h * w, dim)


def vit_block(embed_dim: int, num_heads: int, mlp_dim: int, dropout: float = 0.0) -> EncoderLayer:
    """A pre-LN ViT block (timm ``Block``: LN -> MHSA -> residual, LN -> GELU MLP -> residual)."""
    return EncoderLayer(SelfAttention(embed_dim, num_heads, dropout), FeedForward(embed_dim, mlp_dim, 0.0, dropout),
                        embed_dim, dropout, layer_norm_first=True)


def init_vit_params(module: nn.Module) -> None:
    """MAE ``_init_weights``: Linear Xavier-uniform, bias 0; LayerNorm 1, 0."""
    if isinstance(module, nn.Linear):
        nn.init.xavier_uniform_(module.weight)
        if module.bias is not None:
            nn.init.zeros_(module.bias)
    elif isinstance(module, nn.LayerNorm):
        nn.init.ones_(module.weight)
        nn.init.zeros_(module.bias)


class VideoEncoder(nn.Module):
    """ViT over tubelets or frames.

    Args:
        patch_embed: ``Conv3d(3, D, (pt, ph, pw), stride=(pt, ph, pw))`` (tubelet) or ``Conv2d(3, D, (ph, pw),
            stride=(ph, pw))`` (frame; applied to every frame, then averaged over space).
        blocks: the ViT blocks (``vit_block``).
        embed_dim: D.
        pos_embed: ``"sincos"`` or ``"learned"``.
        grid: the token grid ``(T', H', W')`` of the configured input, for learned positions.
    """

    def __init__(self, patch_embed: nn.Conv3d | nn.Conv2d, blocks: list[EncoderLayer], embed_dim: int,
                 pos_embed: str = "sincos", grid: tuple[int, int, int] | None = None):
        super().__init__()
        if pos_embed not in ("sincos", "learned"):
            raise ValueError(f"pos_embed must be 'sincos' or 'learned', got {pos_embed!r}")
        self.patch_embed = patch_embed
        self.frame_mode = isinstance(patch_embed, nn.Conv2d)
        self.blocks = nn.ModuleList(blocks)
        self.norm = nn.LayerNorm(embed_dim)
        self.embed_dim, self.pos_embed, self.grid = embed_dim, pos_embed, grid
        if pos_embed == "learned":
            if grid is None:
                raise ValueError("learned positions need the token grid of the input size")
            t, h, w = grid  # frame mode: spatial positions would average out to a constant, so none
            self.pos_temporal = nn.Parameter(torch.zeros(t, embed_dim))
            nn.init.trunc_normal_(self.pos_temporal, std=0.02)
            if not self.frame_mode:
                self.pos_spatial = nn.Parameter(torch.zeros(h * w, embed_dim))
                nn.init.trunc_normal_(self.pos_spatial, std=0.02)
        kernel = patch_embed.weight
        nn.init.xavier_uniform_(kernel.view(kernel.size(0), -1))  # MAE: as a Linear

    @property
    def patch_size(self) -> tuple[int, int, int]:
        """``(pt, ph, pw)``; pt = 1 in frame mode."""
        k = self.patch_embed.kernel_size
        return (1, *k) if self.frame_mode else tuple(k)

    def token_grid(self, num_frames: int, height: int, width: int) -> tuple[int, int, int]:
        pt, ph, pw = self.patch_size
        if num_frames % pt or height % ph or width % pw:
            raise ValueError(f"video of {num_frames} x {height} x {width} does not tile into "
                             f"{pt} x {ph} x {pw} patches")
        return num_frames // pt, height // ph, width // pw

    def num_tokens(self, num_frames: int, height: int, width: int) -> int:
        """Tokens of a ``(T, H, W)`` video: T' * H' * W' tubelets, or T frames."""
        t, h, w = self.token_grid(num_frames, height, width)
        return t if self.frame_mode else t * h * w

    def positions(self, grid: tuple[int, int, int], device: torch.device) -> Tensor:
        """``(L, D)`` positional embeddings of the tokens (frame mode: temporal only)."""
        t, h, w = grid
        if self.pos_embed == "learned":
            if self.grid is not None and tuple(grid) != tuple(self.grid):
                raise ValueError(f"learned positions are for a {self.grid} token grid, got {grid}")
            if self.frame_mode:
                return self.pos_temporal
            return (self.pos_temporal[:, None, :] + self.pos_spatial[None, :, :]).reshape(t * h * w, -1)
        if self.frame_mode:
            return sincos_1d(torch.arange(t, device=device), self.embed_dim)
        return separable_sincos(grid, self.embed_dim, device)

    def embed(self, video: Tensor) -> tuple[Tensor, tuple[int, int, int]]:
        """``(N, 3, T, H, W)`` -> ``(N, L, D)`` token embeddings (no positions) and the token grid."""
        n, _, t, h, w = video.shape
        grid = self.token_grid(t, h, w)
        if self.frame_mode:
            frames = video.transpose(1, 2).reshape(n * t, 3, h, w)
            x = self.patch_embed(frames).flatten(2).mean(dim=-1).view(n, t, -1)
        else:
            x = self.patch_embed(video).flatten(2).transpose(1, 2)
        return x, grid

    def forward(self, video: Tensor, keep: Tensor | None = None, keep_padding: Tensor | None = None) -> Tensor:
        """``(N, 3, T, H, W)`` -> ``(N, L, D)`` (or ``(N, K, D)`` for the tokens in ``keep`` ``(N, K)``, with
        ``keep_padding`` True where ``keep`` is padding; padded outputs are meaningless)."""
        x, grid = self.embed(video)
        x = x + self.positions(grid, x.device).to(x.dtype)
        if keep is not None:
            x = torch.gather(x, 1, keep.unsqueeze(-1).expand(-1, -1, x.size(-1)))
        attn_mask = key_mask(keep_padding, attention_dtype(x)) if keep is not None else None
        for block in self.blocks:
            x = block(x, attn_mask)
        return self.norm(x)


def video_encoder(
    embed_dim: int = 768,
    num_layers: int = 12,
    num_heads: int = 12,
    mlp_dim: int = 3072,
    patch_size: tuple[int, int, int] = (2, 16, 16),
    *,
    video_tokens: str = "tubelet",
    pos_embed: str = "sincos",
    input_size: tuple[int, int, int] = (16, 224, 224),
    dropout: float = 0.0,
) -> VideoEncoder:
    """Build the video ViT; defaults are ``av_paper``'s: ViT-B (12 x 768, 12 heads, MLP 3072; §3.4 gives 12
    blocks of 768, heads and MLP are ViT-B's), MAE-ST's 2 x 16 x 16 tubelets over 16 frames of 224 px.
    ``input_size`` ``(T, H, W)`` is needed only for learned positions."""
    if video_tokens not in ("tubelet", "frame"):
        raise ValueError(f"video_tokens must be 'tubelet' or 'frame', got {video_tokens!r}")
    pt, ph, pw = patch_size
    if video_tokens == "tubelet":
        patch_embed: nn.Module = nn.Conv3d(3, embed_dim, (pt, ph, pw), stride=(pt, ph, pw))
        grid = (input_size[0] // pt, input_size[1] // ph, input_size[2] // pw)
    else:
        patch_embed = nn.Conv2d(3, embed_dim, (ph, pw), stride=(ph, pw))
        grid = (input_size[0], input_size[1] // ph, input_size[2] // pw)
    blocks = [vit_block(embed_dim, num_heads, mlp_dim, dropout) for _ in range(num_layers)]
    encoder = VideoEncoder(patch_embed, blocks, embed_dim, pos_embed, grid)
    encoder.blocks.apply(init_vit_params)
    return encoder
