"""The RTL writer: deterministic output, ROM images that hold no weights (the mask ROM
is the only per-weight storage), and clear errors for what the engine cannot run."""
from __future__ import annotations

import copy

import pytest

from hfn_hls.errors import HfnError
from hfn_hls.ir.model import Op
from hfn_hls.ir.random_graph import random_graph, resnet_graph
from hfn_hls.lanes import parse_lanes
from hfn_hls.rtl_backend import write_rtl
from hfn_hls.rtl_backend.design import compile_design
from hfn_hls.lower import Fold
from hfn_hls.rtl_backend.images import ceil_div
from hfn_hls.weights.hfn import lane_mask_words


def test_deterministic(tmp_path):
    g = random_graph(4)
    a = write_rtl(g, None, parse_lanes("4x8"), tmp_path / "a" / "rtl")
    b = write_rtl(g, None, parse_lanes("4x8"), tmp_path / "b" / "rtl")
    assert a == b
    fa = sorted(p.name for p in (tmp_path / "a" / "rtl").iterdir())
    assert fa == sorted(p.name for p in (tmp_path / "b" / "rtl").iterdir())
    for name in fa:
        assert (tmp_path / "a" / "rtl" / name).read_bytes() == \
            (tmp_path / "b" / "rtl" / name).read_bytes(), name
    assert "hfn_top.v" in fa and "mask.mem" in fa and "hfn_engine.v" in fa


def test_weights_never_stored():
    """The mask ROM is 1 bit per unique weight (plus lane padding of unaligned
    layers); the other ROMs do not grow with the weights."""
    g = resnet_graph(0, widths=(16, 32, 64), image=8)
    lanes = parse_lanes("64")
    d = compile_design(g, lanes)
    bits = d.stats["rom_bits"]
    unique = sum(l.size for l in g.layers.values())
    assert d.stats["unique_weights"] == unique
    padded = 0
    for lay in g.layers.values():
        co, kh, kw, ci = lay.shape
        padded += ceil_div(co, lanes.p_out) * lanes.p_out * kh * kw * \
            ceil_div(ci, lanes.p_in) * lanes.p_in
    assert bits["mask"] == padded
    assert unique <= bits["mask"] <= 1.01 * unique
    # aligned layers: exactly one bit per weight
    aligned = [l for l in g.layers.values()
               if l.shape[0] % lanes.p_out == 0 and l.shape[3] % lanes.p_in == 0]
    assert aligned and all(len(lane_mask_words(l, 8, 8)) * 64 == l.size
                           for l in aligned)
    # start states: 32 bits per (padded) output channel, independent of kernel size
    chans = sum(ceil_div(l.shape[0], lanes.p_out) * lanes.p_out for l in g.layers.values())
    assert bits["state"] == 32 * chans
    assert set(bits) == {"mask", "state", "requant", "table"}
    # requantisation: one word per (requant, parameter set, channel group) in each lane's
    # ROM of its unit -- never the L thresholds of a row
    for u, stage in enumerate(("r1", "rs", "r2")):
        seen, words = set(), 0
        for p in d.program.conv_passes():
            r = getattr(p, stage)
            if r is not None and r.name not in seen:
                seen.add(r.name)
                words += r.iterations * (ceil_div(r.channels, lanes.p_out) if r.per_channel
                                         else 1)
        assert all(len(d.rq_roms[(u, o)].words) == words for o in range(lanes.p_out)), u


def test_folded_layers_stored_once():
    g = random_graph(0)   # has a fold of 3 iterations
    d = compile_design(g, parse_lanes("4x8"))
    folds = [op for op in g.ops if op.kind == "fold"]
    assert folds and folds[0].attrs["iterations"] > 1
    # the table has one entry per body pass, between loop markers
    loops = [it for it in d.program.items if isinstance(it, Fold)]
    assert len(loops) == len(folds)
    table = d.roms[0].words          # one word per pass, loop marker and end
    assert len(table) == len(d.program.items) + sum(len(f.body) + 1 for f in loops) + 1
    assert d.stats["macs"] > d.stats["ideal_cycles"]


@pytest.mark.parametrize("lanes", ["3x4", "8x4"])
def test_bad_lanes(lanes):
    with pytest.raises(HfnError, match="powers of two"):
        compile_design(random_graph(1), parse_lanes(lanes))


def _with_maxpool(g, after: str, name: str = "mp"):
    """``g`` with a 3x3 / stride-1 max pooling inserted after tensor ``after``."""
    g = copy.deepcopy(g)
    i = next(k for k, op in enumerate(g.ops) if op.output == after) + 1
    g.tensors[name] = copy.deepcopy(g.tensors[after])
    g.tensors[name].name = name
    g.ops.insert(i, Op("maxpool", name, [after], name, {"kernel": 3, "stride": 1, "pad": 1}))
    return g


def test_maxpool_compiles_but_not_as_the_output():
    """Max pooling is an RTL pass (bit-exactness: test_rtl_stored.py); the network must end
    in its classifier, so a pooling after it is refused, naming the classifier."""
    g = random_graph(1)
    d = compile_design(_with_maxpool(g, g.ops[1].output), parse_lanes("4x4"))
    assert d is not None
    last = _with_maxpool(g, g.output, "pooled")
    last.output = "pooled"
    with pytest.raises(HfnError, match="op classifier: a convolution must be followed by"):
        compile_design(last, parse_lanes("4x4"))


def test_nothing_half_written(tmp_path, monkeypatch):
    from hfn_hls.rtl_backend import writer
    out = tmp_path / "rtl"
    write_rtl(random_graph(2), None, parse_lanes("2x2"), out)
    before = {p.name: p.read_bytes() for p in out.iterdir()}

    def boom(*a, **k):
        raise RuntimeError("disk full")
    monkeypatch.setattr(writer.im, "hex_lines", boom)
    with pytest.raises(RuntimeError):
        write_rtl(random_graph(3), None, parse_lanes("2x2"), out)
    assert {p.name: p.read_bytes() for p in out.iterdir()} == before
    assert [p.name for p in tmp_path.iterdir()] == ["rtl"]
