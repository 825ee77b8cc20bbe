"""A Brevitas CNN written here with plain ``brevitas.nn`` layers (nothing of hfn-hls):
8-bit unsigned input quantiser, a stem conv with per-output-channel float weight scales,
a 2x2 max pool, a residual block (a 4-bit conv, an 8-bit conv with a float bias, one
shared signed quantiser for both operands of the addition), a linear classifier on the
flattened 4x4 map with an Int32-quantised bias.  Float (learned) scales everywhere, as
Brevitas' defaults make them.  ``train_and_export`` trains it for a few seconds on
digits and writes ``brevitas_export.export_qonnx`` output without any metadata."""
from __future__ import annotations

import warnings
from pathlib import Path

import brevitas.nn as qnn
import numpy as np
import torch
import torch.nn as nn
from brevitas.quant import Int8WeightPerChannelFloat, Int32Bias, Uint8ActPerTensorFloat


class DigitsCNN(nn.Module):
    def __init__(self, width: int = 16):
        super().__init__()
        self.inp = qnn.QuantIdentity(act_quant=Uint8ActPerTensorFloat, return_quant_tensor=True)
        self.stem = qnn.QuantConv2d(1, width, 3, padding=1, bias=False,
                                    weight_quant=Int8WeightPerChannelFloat, weight_bit_width=6)
        self.bn0 = nn.BatchNorm2d(width)
        self.act0 = qnn.QuantReLU(bit_width=4, return_quant_tensor=True)
        self.pool = nn.MaxPool2d(2)
        self.conv1 = qnn.QuantConv2d(width, width, 3, padding=1, bias=False,
                                     weight_bit_width=4)
        self.bn1 = nn.BatchNorm2d(width)
        self.act1 = qnn.QuantReLU(bit_width=4, return_quant_tensor=True)
        self.conv2 = qnn.QuantConv2d(width, width, 3, padding=1, bias=True, weight_bit_width=8)
        self.bn2 = nn.BatchNorm2d(width)
        self.res = qnn.QuantIdentity(bit_width=6, return_quant_tensor=True)   # shared
        self.act2 = qnn.QuantReLU(bit_width=4, return_quant_tensor=True)
        self.fc = qnn.QuantLinear(width * 4 * 4, 10, bias=True, bias_quant=Int32Bias,
                                  weight_bit_width=8)

    def forward(self, x):
        x = self.pool(self.act0(self.bn0(self.stem(self.inp(x)))))
        y = self.act1(self.bn1(self.conv1(x)))
        y = self.res(self.bn2(self.conv2(y)))
        x = self.act2(y + self.res(x))
        return self.fc(torch.flatten(x, 1))


def train_and_export(out: Path, epochs: int = 4, seed: int = 0) -> tuple[Path, float]:
    """Train on digits (Adam, a few seconds on one core) and export; (path, test accuracy
    of the Brevitas model)."""
    from brevitas.export import export_qonnx

    from hfn_hls.data import load_dataset

    torch.manual_seed(seed)
    d = load_dataset("digits")
    model = DigitsCNN()
    opt = torch.optim.Adam(model.parameters(), lr=0.01)
    x, y = torch.from_numpy(d.x_train), torch.from_numpy(d.y_train)
    g = torch.Generator().manual_seed(seed)
    for _ in range(epochs):
        model.train()
        for idx in torch.randperm(len(x), generator=g).split(64):
            opt.zero_grad()
            nn.functional.cross_entropy(model(x[idx]), y[idx]).backward()
            opt.step()
    model.eval()
    with torch.no_grad():
        acc = float((model(torch.from_numpy(d.x_test)).argmax(1).numpy() == d.y_test).mean())
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        export_qonnx(model, args=torch.zeros(1, 1, 8, 8), export_path=str(out), dynamo=False)
    return Path(out), acc


def test_codes(graph) -> tuple[np.ndarray, np.ndarray]:
    """(input codes NHWC, labels) of the digits test split at the model's input scale."""
    from hfn_hls.data import load_dataset
    from hfn_hls.golden import GoldenModel

    d = load_dataset("digits")
    return GoldenModel(graph).quantize_input(d.x_test.transpose(0, 2, 3, 1)), d.y_test


class MixedNet(nn.Module):
    """A network that mixes weight sources: a stored stem (Brevitas QuantConv2d, 4-bit
    fixed-point weights) and a stored classifier (QuantLinear, 6-bit) around a generated
    body from the package's layers (a stride-2 projection block and one block folded twice,
    LFSR x mask).  Exported with ``hfn_hls.export.export_model``: ``hfn`` metadata for the
    generated layers, Quant-ed weights for the stored ones."""

    def __init__(self, model_seed: int = 5, k: float = 0.5):
        super().__init__()
        from brevitas.quant import Int8WeightPerTensorFixedPoint

        from hfn_hls.models import FoldedBlock, ResidualBlock, SeedSource, act_quant, \
            input_quant

        seeds = SeedSource(model_seed)
        self.input_shape = (1, 8, 8)
        self.quant_in = input_quant()
        self.stem = qnn.QuantConv2d(1, 8, 3, padding=1, bias=False,
                                    weight_quant=Int8WeightPerTensorFixedPoint,
                                    weight_bit_width=4)
        self.stem_bn = nn.BatchNorm2d(8)
        self.stem_act = act_quant(4)
        self.down = ResidualBlock(8, 16, stride=2, seeds=seeds, k=k, act_bits=4)
        self.body = FoldedBlock(16, 2, seeds=seeds, k=k, act_bits=4)
        self.head = qnn.QuantLinear(16, 10, bias=False,
                                    weight_quant=Int8WeightPerTensorFixedPoint,
                                    weight_bit_width=6)

    def forward(self, x):
        x = self.stem_act(self.stem_bn(self.stem(self.quant_in(x))))
        x = self.body(self.down(x))
        return self.head(torch.flatten(nn.functional.adaptive_avg_pool2d(x, 1), 1))


def mixed_export(out: Path, seed: int = 0) -> Path:
    """An untrained MixedNet with calibrated BatchNorm statistics, exported."""
    from hfn_hls.export import export_model

    torch.manual_seed(seed)
    model = MixedNet()
    gen = torch.Generator().manual_seed(seed)
    model.train()
    with torch.no_grad():
        for _ in range(4):
            model(torch.rand(16, 1, 8, 8, generator=gen))
    return export_model(model.eval(), out)


class OpsNet(nn.Module):
    """Plain Brevitas layers for the rest of the op set: a strided 3x3 conv with a float
    bias, a signed quantiser (after a LeakyReLU of slope ``leaky``, or none), a 5x5 conv
    (padding 2), AvgPool2d over the whole map, and a QuantLinear on a float tensor
    (exported as Transpose + MatMul)."""

    def __init__(self, leaky: float | None = None):
        super().__init__()
        self.inp = qnn.QuantIdentity(act_quant=Uint8ActPerTensorFloat)
        self.c1 = qnn.QuantConv2d(1, 8, 3, stride=2, padding=1, bias=True, weight_bit_width=5)
        self.b1 = nn.BatchNorm2d(8)
        self.leaky = nn.Identity() if leaky is None else nn.LeakyReLU(leaky)
        self.q1 = qnn.QuantIdentity(bit_width=5)
        self.c2 = qnn.QuantConv2d(8, 12, 5, padding=2, bias=False, weight_bit_width=3)
        self.b2 = nn.BatchNorm2d(12)
        self.act = qnn.QuantReLU(bit_width=3)
        self.pool = nn.AvgPool2d(4)
        self.fc = qnn.QuantLinear(12, 10, bias=False, weight_bit_width=7)

    def forward(self, x):
        x = self.q1(self.leaky(self.b1(self.c1(self.inp(x)))))
        x = self.pool(self.act(self.b2(self.c2(x))))
        return self.fc(torch.flatten(x, 1))


def ops_export(out: Path, seed: int = 0, leaky: float | None = None) -> Path:
    """An untrained OpsNet with calibrated BatchNorm statistics, exported (no metadata)."""
    from brevitas.export import export_qonnx

    torch.manual_seed(seed)
    model = OpsNet(leaky)
    gen = torch.Generator().manual_seed(seed)
    model.train()
    with torch.no_grad():
        for _ in range(4):
            model(torch.rand(16, 1, 8, 8, generator=gen))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        export_qonnx(model.eval(), args=torch.zeros(1, 1, 8, 8), export_path=str(out),
                     dynamo=False)
    return Path(out)
