"""Layer Folding (Ben Dror et al. 2021; github LayerFolding/Layer-Folding): the learned
activation, the closed-form merge of conv -> BN -> conv, and the folding of a network.

``σ_α(x) = α·x + (1−α)·ReLU(x)`` with one scalar α per activation (initialised 0,
clipped to ≥ 0 after each step, regularised by ``λ·|1 − α²|``).  For α ≥ 0.9 the
activation counts as linear and is removed: between conv1 → BN → conv2 the two convs
become one (``merge_conv_bn_conv``), after a residual addition it is dropped.  An
activation that stays non-linear IS a LeakyReLU of slope α, and is exported as one.

Quantisation (this project): each σ_α is followed by a signed quantiser of
``act_bits + 1`` bits (the sign bit for the leaky part, the same resolution as the
unsigned ``act_bits`` quantiser of a ReLU).  After folding, an activation whose α is 0
becomes ReLU + unsigned ``act_bits`` quantiser with the same learned scale (the same
function, and half the thresholds in hardware); a leaky one keeps its signed quantiser; a
linear one after an addition keeps only its quantiser; a linear one inside a block is
gone with its quantiser.
"""
from __future__ import annotations

import torch
import torch.nn as nn
import torch.nn.functional as F

from .quant import signed_quant, unsigned_quant

MODES = ("learn", "relu", "leaky", "linear")


class LayerFoldAct(nn.Module):
    """σ_α followed by a quantiser.  ``mode``: ``learn`` (training, α a parameter),
    ``relu`` (α = 0; unsigned quantiser), ``leaky`` (α fixed, exported as LeakyRelu),
    ``linear`` (identity; only the quantiser is left)."""

    def __init__(self, act_bits: int, alpha: float = 0.0, mode: str = "learn"):
        super().__init__()
        self.act_bits = int(act_bits)
        self.alpha = nn.Parameter(torch.tensor([float(alpha)]))
        self.mode = "learn"
        self.quant = signed_quant(self.act_bits + 1)
        if mode != "learn":
            self.set_mode(mode)

    def set_mode(self, mode: str) -> None:
        """Fix the activation (after pre-fold training); the quantiser's learned scale is
        kept (for ``relu`` it moves to an unsigned quantiser of the same scale)."""
        if mode not in MODES[1:]:
            raise ValueError(f"unknown mode {mode!r}")
        self.alpha.requires_grad_(False)
        if mode == "relu":
            q = unsigned_quant(self.act_bits)
            state = self.quant.state_dict()
            if state:                 # empty before the quantiser has seen data
                q.load_state_dict(state)
            self.quant = q
        self.mode = mode

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if self.mode == "learn":
            h = self.alpha * x + (1 - self.alpha) * F.relu(x)
        elif self.mode == "relu":
            h = F.relu(x)
        elif self.mode == "leaky":
            h = F.leaky_relu(x, float(self.alpha.detach()))
        else:
            h = x
        return self.quant(h)

    def extra_repr(self) -> str:
        return f"mode={self.mode}, alpha={float(self.alpha.detach()):.4f}"


def regulariser(acts: list[LayerFoldAct], lam: float) -> torch.Tensor:
    """``λ · Σ |1 − α²|`` over the learned activations (the reference's loss term)."""
    return lam * sum(torch.abs(1 - a.alpha[0] * a.alpha[0]) for a in acts)


def clip_alphas(acts: list[LayerFoldAct]) -> None:
    """α ≥ 0 after every optimiser step."""
    with torch.no_grad():
        for a in acts:
            a.alpha.clamp_(min=0.0)


def merge_conv_bn_conv(w1: torch.Tensor, stride1: int, gamma: torch.Tensor,
                       beta: torch.Tensor, mean: torch.Tensor, var: torch.Tensor,
                       eps: float, w2: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """The one conv equal to ``conv2(bn(conv1(x)))`` away from the border (closed form).

    ``w1`` [M, I, k1, k1] with stride ``stride1``, ``bn`` over M channels (eval mode),
    ``w2`` [O, M, k2, k2] with stride 1 (or s2: the result's stride is ``stride1 * s2``).
    Returns ``K`` [O, I, k1 + s1 (k2 − 1), …] and the bias ``b`` [O]:
    ``K[o,i,u,v] = Σ_m Σ_ab w2[o,m,a,b] g_m w1[m,i,u−s1·a,v−s1·b]`` with ``g = γ/σ``,
    ``b[o] = Σ_m (β_m − g_m μ_m) Σ_ab w2[o,m,a,b]``.  With padding ``p1 + s1·p2`` the
    merged conv equals the two wherever conv2 reads no padding of its input."""
    w1, w2 = w1.double(), w2.double()
    g = gamma.double() / torch.sqrt(var.double() + eps)
    shift = beta.double() - g * mean.double()
    o, m, k2, _ = w2.shape
    m1, i, k1, _ = w1.shape
    if m1 != m:
        raise ValueError(f"conv1 has {m1} outputs, conv2 {m} inputs")
    s = int(stride1)
    kk = k1 + s * (k2 - 1)
    K = torch.zeros(o, i, kk, kk, dtype=torch.float64)
    w1g = w1 * g[:, None, None, None]
    for a in range(k2):
        for b in range(k2):
            K[:, :, s * a:s * a + k1, s * b:s * b + k1] += torch.einsum(
                "om,miuv->oiuv", w2[:, :, a, b], w1g)
    bias = torch.einsum("om,m->o", w2.sum(dim=(2, 3)), shift)
    return K, bias


# -- folding a network -----------------------------------------------------------------

def block_acts(block) -> list[tuple[str, LayerFoldAct]]:
    """(name, act) of a block's learned activations: ``acts.j`` (between conv j and j+1)
    and ``out`` (after the addition), of its (single) iteration."""
    it = block.iters[0]
    out = [(f"acts.{j}", a) for j, a in enumerate(it.acts) if isinstance(a, LayerFoldAct)]
    if isinstance(it.out_act, LayerFoldAct):
        out.append(("out", it.out_act))
    return out


def effective_weight(conv: nn.Module) -> torch.Tensor:
    """The weights a conv computes with (Brevitas: the dequantised integers)."""
    qw = getattr(conv, "quant_weight", None)
    if qw is not None:
        return qw().value.detach()
    return conv.weight.detach()


def merge_pair(block, j: int, make_conv) -> nn.Module:
    """conv j → bn j → conv j+1 of ``block`` as one new conv (from ``make_conv``) whose
    bias is absorbed into bn j+1's running mean (exact in eval mode; in training mode a
    BatchNorm subtracts the batch mean, so a bias has no effect there either)."""
    c1, c2 = block.convs[j], block.convs[j + 1]
    it = block.iters[0]
    bn1, bn2 = it.bns[j], it.bns[j + 1]
    if bn1.affine:
        gamma, beta = bn1.weight.detach(), bn1.bias.detach()
    else:
        gamma, beta = torch.ones_like(bn1.running_mean), torch.zeros_like(bn1.running_mean)
    K, bias = merge_conv_bn_conv(effective_weight(c1), c1.stride[0], gamma, beta,
                                 bn1.running_mean, bn1.running_var, bn1.eps,
                                 effective_weight(c2))
    s = c1.stride[0] * c2.stride[0]
    pad = c1.padding[0] + c1.stride[0] * c2.padding[0]
    new = make_conv(K.shape[1], K.shape[0], K.shape[2], s, pad)
    with torch.no_grad():
        new.weight.copy_(K.float())
        bn2.running_mean.sub_(bias.float())
    return new
