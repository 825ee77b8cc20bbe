"""What hls4ml 1.3.0 stores for the same network with stored weights.

The equivalent stored-weight network is our QONNX with the layer constant folded into the
conv weights (``w = c * sign * mask`` as float weights, as any non-generating flow would
keep them), converted by hls4ml's own QONNX front end and written with ``write()`` only;
the bits are counted from the weight (``w*.h``) and bias (``b*.h``, BatchNorm folded)
arrays it emits, at the precision it declares for them.

hls4ml 1.3.0 needs three rewrites of the cleaned, channels-last QONNX graph; each is a
qonnx transformation here:
- ``FoldScalarMulIntoConv``: our graph multiplies the ternary conv by the scalar ``c`` in
  a separate Mul (it keeps float sums exact); hls4ml would broadcast that Mul over the
  whole tensor and fail to fuse the following BatchNorm;
- ``GlobalPoolToChannelsLastAveragePool``: qonnx leaves GlobalAveragePool between two
  Transposes, which hls4ml cannot parse; a channels-last AveragePool over the whole map
  is the same operation in the form hls4ml expects;
- (the final Transpose disappears with the previous rewrite).
"""
from __future__ import annotations

import contextlib
import io
import re
import warnings
from pathlib import Path

import numpy as np
from onnx import helper
from qonnx.core.modelwrapper import ModelWrapper
from qonnx.transformation.base import Transformation


class FoldScalarMulIntoConv(Transformation):
    """Conv -> Mul(scalar constant)  ==>  Conv with scaled weights."""

    def apply(self, model: ModelWrapper):
        g = model.graph
        for conv in [n for n in g.node if n.op_type == "Conv"]:
            cons = model.find_consumers(conv.output[0]) or []
            if len(cons) != 1 or cons[0].op_type != "Mul":
                continue
            mul = cons[0]
            consts = [model.get_initializer(i) for i in mul.input]
            consts = [c for c in consts if c is not None]
            if len(consts) != 1 or consts[0].size != 1:
                continue
            w = model.get_initializer(conv.input[1])
            model.set_initializer(conv.input[1],
                                  (w * float(consts[0].reshape(-1)[0])).astype(np.float32))
            conv.output[0] = mul.output[0]
            g.node.remove(mul)
            return model, True
        return model, False


class GlobalPoolToChannelsLastAveragePool(Transformation):
    """Transpose -> GlobalAveragePool -> Transpose  ==>  channels-last AveragePool(H x W)."""

    def apply(self, model: ModelWrapper):
        g = model.graph
        for gap in [n for n in g.node if n.op_type == "GlobalAveragePool"]:
            pre = model.find_producer(gap.input[0])
            post = model.find_consumers(gap.output[0]) or []
            if pre is None or pre.op_type != "Transpose" or len(post) != 1 or \
                    post[0].op_type != "Transpose":
                continue
            n, h, w, c = model.get_tensor_shape(pre.input[0])
            idx = list(g.node).index(pre)
            pool = helper.make_node("AveragePool", [pre.input[0]], [post[0].output[0]],
                                    name=gap.name + "_cl",
                                    domain="qonnx.custom_op.channels_last",
                                    kernel_shape=[h, w], strides=[h, w], pads=[0, 0, 0, 0])
            for node in (pre, gap, post[0]):
                g.node.remove(node)
            g.node.insert(idx, pool)
            model.set_tensor_shape(post[0].output[0], [n, 1, 1, c])
            return model, True
        return model, False


def stored_weight_model(onnx_path: str | Path) -> ModelWrapper:
    """Our QONNX as the stored-weight network hls4ml can convert."""
    from qonnx.transformation.channels_last import ConvertToChannelsLastAndClean
    from qonnx.util.cleanup import cleanup_model

    m = cleanup_model(ModelWrapper(str(onnx_path)))
    m = m.transform(FoldScalarMulIntoConv())
    m = cleanup_model(m)
    m = m.transform(ConvertToChannelsLastAndClean(make_input_channels_last=True))
    m = cleanup_model(m)
    return m.transform(GlobalPoolToChannelsLastAveragePool())


def hls4ml_weight_bits(onnx_path: str | Path, work: str | Path) -> dict:
    """Convert with hls4ml 1.3.0, ``write()`` only, and count the parameter bits it emits.

    Returns ``{"weight_bits", "bias_bits", "total_bits", "arrays", "precision"}``.
    Raises whatever hls4ml raises if it cannot convert the model.
    """
    import hls4ml

    work = Path(work)
    out = work / "hls4ml_prj"
    with warnings.catch_warnings(), contextlib.redirect_stdout(io.StringIO()):
        warnings.simplefilter("ignore")
        model = stored_weight_model(onnx_path)
        config = hls4ml.utils.config.config_from_onnx_model(model, granularity="name",
                                                             backend="Vitis")
        hmodel = hls4ml.converters.convert_from_onnx_model(
            model, output_dir=str(out), backend="Vitis", hls_config=config)
        hmodel.write()
    defines = "".join(p.read_text() for p in (out / "firmware" / "defines.h",
                                              out / "firmware" / "parameters.h") if p.is_file())
    decl = re.compile(r"^(?:static\s+)?(?:const\s+)?(\S+)\s+([wb]\d+)\[(\d+)\]", re.M)
    bits = {"w": 0, "b": 0}
    arrays, precisions = 0, set()
    for h in sorted((out / "firmware" / "weights").glob("*.h")):
        m = decl.search(h.read_text())
        if not m:
            continue
        typ, name, count = m.group(1), m.group(2), int(m.group(3))
        t = re.search(rf"typedef\s+(ap_(?:u?fixed|u?int)<(\d+)[^>]*>)\s+{re.escape(typ)}\s*;",
                      defines)
        if t is None:
            raise RuntimeError(f"hls4ml: cannot find the precision of {typ} ({h.name})")
        bits[name[0]] += count * int(t.group(2))
        precisions.add(t.group(1))
        arrays += 1
    if arrays == 0:
        raise RuntimeError("hls4ml wrote no weight arrays")
    return {"weight_bits": bits["w"], "bias_bits": bits["b"],
            "total_bits": bits["w"] + bits["b"], "arrays": arrays,
            "precision": sorted(precisions)}
