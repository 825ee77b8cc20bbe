"""Through the real front end (init -> export -> IR) for activation widths 2..8 and
several k: golden model == QONNX execution, folds found, masks keep the right count."""
import numpy as np
import pytest

from hfn_hls.export import export_model
from hfn_hls.golden import GoldenModel
from hfn_hls.ir.build import build_ir, execute_qonnx
from hfn_hls.train import init_model
from hfn_hls.weights.hfn import mask_of


@pytest.mark.parametrize("act_bits,k", [(2, 0.3), (3, 0.9), (6, 0.5), (8, 0.1)])
def test_init_export_ir_matches_qonnx(tmp_path, act_bits, k):
    model = init_model("digits", tmp_path / "run", act_bits=act_bits, k=k, seed=act_bits)
    onnx_path = export_model(model, tmp_path / "m.onnx")
    g = build_ir(onnx_path)
    assert g.meta["act_bits"] == act_bits and g.meta["res_bits"] == act_bits + 1
    rq = [o for o in g.walk() if o.kind == "requant"]
    levels = {len(o.attrs["sets"][0]["thresholds"][0]) for o in rq}
    assert levels == {2 ** act_bits - 1, 2 ** (act_bits + 1) - 1}
    for name, layer in g.layers.items():
        n = layer.size
        assert int(mask_of(layer).sum()) == n - int((1 - k) * n), name
    x = np.random.default_rng(act_bits).random((16, 1, 8, 8)).astype(np.float32)
    gm = GoldenModel(g)
    gold = gm.run(gm.quantize_input(x.transpose(0, 2, 3, 1)))
    q = np.rint(execute_qonnx(onnx_path, x) / g.meta["output_scale"]).astype(np.int64)
    assert len(np.unique(gold)) > 3                       # a meaningful comparison
    assert np.array_equal(q, gold), np.argwhere(q != gold)[:5]
