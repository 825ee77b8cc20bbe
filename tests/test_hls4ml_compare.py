"""The hls4ml comparison counts what hls4ml really writes for the stored-weight network."""
import onnx

from hfn_hls.export import read_metadata
from hfn_hls.hls.hls4ml_compare import hls4ml_weight_bits


def test_hls4ml_stores_every_unrolled_weight_at_its_precision(digits_onnx, tmp_path):
    r = hls4ml_weight_bits(digits_onnx, tmp_path)
    meta = read_metadata(onnx.load(str(digits_onnx)))
    size = {l["name"]: l["shape_oihw"] for l in meta["layers"]}
    unrolled = 0
    for name in meta["conv_calls"]:          # hls4ml has no folding: one copy per call
        co, ci, kh, kw = size[name]
        unrolled += co * ci * kh * kw
    assert r["precision"] == ["ap_fixed<16,6>"]
    assert r["weight_bits"] == 16 * unrolled
    assert r["bias_bits"] > 0 and r["total_bits"] == r["weight_bits"] + r["bias_bits"]
    assert (tmp_path / "hls4ml_prj" / "firmware" / "weights").is_dir()
