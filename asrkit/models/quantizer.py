"""Gumbel-softmax product quantizer of wav2vec 2.0 (Baevski et al., 2020, §2 "Quantization module", eq. 1).

G codebooks ("groups") of V entries of size d/G; the feature encoder output z is mapped to
G x V logits, one entry per group is chosen with a hard Gumbel softmax (straight-through in
training, argmax at evaluation), the G entries are concatenated and a linear map R^d -> R^f
gives q. fairseq splits this between ``GumbelVectorQuantizer`` and the model's ``project_q``;
here the module owns both, as the paper defines it.
"""
from __future__ import annotations

from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import Tensor, nn


@dataclass
class QuantizerOutput:
    quantized: Tensor  # (N, T, F) q: concatenated codevectors after the linear map (fairseq project_q)
    codevectors: Tensor  # (N, T, d) concatenated codebook entries before the linear map
    indices: Tensor  # (N, T, G) chosen entry per group
    code_perplexity: Tensor  # () perplexity of the hard choices, summed over groups (fairseq code_perplexity)
    prob_perplexity: Tensor  # () perplexity of the averaged softmax, summed over groups; feeds L_d (eq. 4)
    num_vars: int  # G * V
    temperature: float  # current Gumbel temperature tau


def _perplexity(probs: Tensor) -> Tensor:
    """``(M, G, V)`` distributions -> sum over groups of exp(entropy of the mean), as fairseq (with its 1e-7)."""
    avg = probs.mean(dim=0)
    return torch.exp(-torch.sum(avg * torch.log(avg + 1e-7), dim=-1)).sum()


class GumbelVectorQuantizer(nn.Module):
    """Product quantization with G hard Gumbel softmaxes (eq. 1).

    Args:
        input_dim: channels of z (feature encoder output; fairseq quantizer ``dim``).
        num_groups: G (fairseq ``latent_groups``; 2 in the paper).
        num_vars: V entries per codebook (fairseq ``latent_vars``; 320 in the paper).
        codevector_dim: d, size of the concatenated entries, each d/G (fairseq ``latent_dim``, or
            ``final_dim`` when 0; 256 BASE, 768 LARGE).
        output_dim: f, size of q (fairseq ``final_dim``; the ``project_q`` layer).
        temperature: (max, min, decay) of tau (fairseq ``latent_temp``; (2, 0.5, 0.999995) BASE,
            (2, 0.1, 0.999995) LARGE); tau = max(max * decay ** num_updates, min).
        output_proj: the map R^d -> R^f (fairseq ``project_q``); None builds the linear one of wav2vec 2.0,
            SEW passes its MLP predictor head (``asrkit.models.sew.MLPPredictor``, SEW-D §3.3).
    """

    def __init__(
        self,
        input_dim: int,
        num_groups: int,
        num_vars: int,
        codevector_dim: int,
        output_dim: int,
        temperature: tuple[float, float, float] = (2.0, 0.5, 0.999995),
        output_proj: nn.Module | None = None,
    ):
        super().__init__()
        if codevector_dim % num_groups:
            raise ValueError(f"codevector_dim {codevector_dim} is not divisible by num_groups {num_groups}")
        self.num_groups = num_groups
        self.num_vars = num_vars
        self.codebooks = nn.Parameter(torch.empty(num_groups, num_vars, codevector_dim // num_groups))
        self.logits_proj = nn.Linear(input_dim, num_groups * num_vars)
        self.output_proj = output_proj if output_proj is not None else nn.Linear(codevector_dim, output_dim)
        nn.init.uniform_(self.codebooks)
        nn.init.normal_(self.logits_proj.weight, mean=0.0, std=1.0)
        nn.init.zeros_(self.logits_proj.bias)
        self.max_temp, self.min_temp, self.temp_decay = (float(t) for t in temperature)
        # Not a buffer: the trainer calls set_num_updates on resume, as fairseq does.
        self.temperature = self.max_temp

    def set_num_updates(self, num_updates: int) -> None:
        """Anneal tau once per update (§4.2)."""
        self.temperature = max(self.max_temp * self.temp_decay**num_updates, self.min_temp)

    def _lookup(self, one_hot: Tensor) -> Tensor:
        """``(M, G, V)`` (possibly straight-through) one-hot -> ``(M, G * d/G)`` codevectors."""
        return torch.einsum("mgv,gvd->mgd", one_hot, self.codebooks.to(one_hot.dtype)).flatten(1)

    def forward(
        self, z: Tensor, padding_mask: Tensor | None = None, generator: torch.Generator | None = None
    ) -> QuantizerOutput:
        """Quantize ``(N, T, C)`` features; statistics use the frames where ``padding_mask`` is False."""
        n, t, _ = z.shape
        logits = self.logits_proj(z).view(n * t, self.num_groups, self.num_vars)
        valid = None if padding_mask is None else ~padding_mask.reshape(n * t)
        stat_logits = logits if valid is None else logits[valid]

        indices = logits.argmax(dim=-1)  # (M, G)
        with torch.no_grad():
            hard = F.one_hot(stat_logits.argmax(dim=-1), self.num_vars).float()
            code_ppl = _perplexity(hard) if hard.numel() else hard.new_zeros(())
        soft = torch.softmax(stat_logits.float(), dim=-1)  # no Gumbel noise, no temperature (eq. 4)
        prob_ppl = _perplexity(soft) if soft.numel() else soft.new_zeros(())

        if self.training:
            # eq. 1: p = softmax((l + n) / tau), n = -log(-log(u)); forward uses the argmax,
            # backward the gradient of the soft probabilities (straight-through estimator).
            gumbels = -torch.empty_like(logits, dtype=torch.float32).exponential_(generator=generator).log()
            y_soft = torch.softmax((logits.float() + gumbels) / self.temperature, dim=-1)
            indices = y_soft.argmax(dim=-1)
            y_hard = F.one_hot(indices, self.num_vars).to(y_soft.dtype)
            one_hot = (y_hard - y_soft.detach() + y_soft).type_as(logits)
            codevectors = self._lookup(one_hot)
        else:
            codevectors = self.codebooks[torch.arange(self.num_groups, device=z.device), indices].flatten(1)

        codevectors = codevectors.view(n, t, self.num_groups * self.codebooks.size(-1))
        return QuantizerOutput(
            quantized=self.output_proj(codevectors),
            codevectors=codevectors,
            indices=indices.view(n, t, self.num_groups),
            code_perplexity=code_ppl,
            prob_perplexity=prob_ppl,
            num_vars=self.num_groups * self.num_vars,
            temperature=self.temperature,
        )

    def sample_codevectors(self, num: int, generator: torch.Generator | None = None) -> Tensor:
        """``num`` quantized vectors ``(num, f)`` drawn uniformly from the V^G product codebook
        (distractors for fairseq ``codebook_negatives``)."""
        idx = torch.randint(self.num_vars, (num, self.num_groups), generator=generator, device=self.codebooks.device)
        vectors = self.codebooks[torch.arange(self.num_groups, device=idx.device), idx].flatten(1)
        return self.output_proj(vectors)
