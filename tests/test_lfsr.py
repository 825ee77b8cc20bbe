"""The LFSR contract (docs/weight-generation.md) and its shared test vectors."""
import json

import numpy as np
import pytest

from hfn_hls import lfsr
from hfn_hls import mask as maskpack
from hfn_hls.paths import REPO, TEST_VECTORS


def test_polynomial_is_primitive():
    n = 2**32 - 1
    assert lfsr._matpow(n) == lfsr._IDENTITY
    for p in (3, 5, 17, 257, 65537):
        assert lfsr._matpow(n // p) != lfsr._IDENTITY, p


def test_step_emits_bit0_then_shifts():
    assert lfsr.step(1) == (1, lfsr.FEEDBACK)
    assert lfsr.step(2) == (0, 1)
    assert lfsr.step(0x80000001) == (1, 0x40000000 ^ lfsr.FEEDBACK)


@pytest.mark.parametrize("n", [0, 1, 5, 64, 1000])
def test_advance_equals_repeated_steps(n):
    s = 0x12345678
    t = s
    for _ in range(n):
        _, t = lfsr.step(t)
    assert lfsr.advance(s, n) == t


def test_leap_is_p_single_steps():
    bits, nxt = lfsr.leap(0xCAFE, 16)
    assert bits == lfsr.bits(0xCAFE, 16)
    assert nxt == lfsr.advance(0xCAFE, 16)


def test_channel_lanes_reproduce_one_stream():
    seed, co, k = lfsr.derive_seed(7, 3), 5, 27
    states = lfsr.channel_start_states(seed, co, k)
    stream = lfsr.bits(seed, co * k)
    for c in range(co):
        assert lfsr.bits(int(states[c]), k) == stream[c * k:(c + 1) * k]
    assert lfsr.sign_bits(seed, co, k).reshape(-1).tolist() == stream


def test_layer_signs_canonical_order_and_mapping():
    seed = lfsr.derive_seed(1, 0)
    s = lfsr.layer_signs(seed, (2, 3, 2, 2))           # OIHW
    stream = lfsr.bits(seed, 2 * 3 * 2 * 2)
    ohwi = s.transpose(0, 2, 3, 1).reshape(-1)
    assert ohwi.tolist() == [1 - 2 * b for b in stream]  # bit 0 -> +1, bit 1 -> -1


def test_seed_derivation_never_zero_and_distinct():
    seeds = [lfsr.derive_seed(2021, i) for i in range(1000)]
    assert 0 not in seeds and len(set(seeds)) == 1000


def test_mask_pack_roundtrip_and_words():
    rng = np.random.default_rng(0)
    m = (rng.random((3, 3, 3, 5)) < 0.3).astype(np.uint8)
    h = maskpack.pack(m)
    assert np.array_equal(maskpack.unpack(h, m.shape), m)
    flat = m.reshape(-1)
    w8 = maskpack.words(m, 8)
    assert all(((w8[i // 8] >> (i % 8)) & 1) == flat[i] for i in range(flat.size))
    assert bytes(w8).hex() == h


def test_committed_vectors_match_the_implementation():
    import importlib.util
    spec = importlib.util.spec_from_file_location("mtv", REPO / "scripts" / "make_test_vectors.py")
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    committed = json.loads((TEST_VECTORS / "lfsr.json").read_text())
    assert committed == json.loads(json.dumps(mod.vectors()))
    for s in committed["streams"]:
        assert "".join(map(str, lfsr.bits(s["seed"], 256))) == s["bits"]
        for n, state in s["state_after"].items():
            assert lfsr.advance(s["seed"], int(n)) == state
