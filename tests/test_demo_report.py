"""The demo report: every number in report.html is read back and compared with the JSON
report dicts it was made from (which are fake but mutually consistent test data); the
PNGs are real PNG files; missing reports show as "not run"."""
from __future__ import annotations

from html.parser import HTMLParser

import pytest

from hfn_hls.demo_report import format_summary_table, write_report
from hfn_hls.errors import HfnError

LAYERS = [   # a generated stem and body layer, a stored (8-bit) classifier
    {"name": "stem", "unique_weights": 432, "generated_bits": 432, "stored_bits": 0,
     "mask_bits": 432, "requant_bits": 960,
     "dense_fp32_bits": 432 * 32, "dense_int8_bits": 432 * 8},
    {"name": "s0_fold_conv1", "unique_weights": 2304, "generated_bits": 2304, "stored_bits": 0,
     "mask_bits": 2304, "requant_bits": 2880,
     "dense_fp32_bits": 2304 * 32, "dense_int8_bits": 2304 * 8},
    {"name": "classifier", "unique_weights": 640, "generated_bits": 0, "stored_bits": 640 * 8,
     "mask_bits": 0, "requant_bits": 0,
     "dense_fp32_bits": 640 * 32, "dense_int8_bits": 640 * 8},
]


def full_reports() -> dict:
    tot = {k: sum(l[k] for l in LAYERS) for k in LAYERS[0] if k != "name"}
    return {
        "train": {"test_accuracy": 0.9833, "golden_accuracy": 0.9816},
        "memory": {"layers": LAYERS, "totals": tot},
        "hls": {"storage_bits": 9000, "hls4ml_bits": 27008},
        "csim": {"vectors": 200, "mismatches": 0},
        "sim": {"vectors": 50, "mismatches": 0, "cycles_per_inference": 4321,
                "layers": [{"name": "stem", "cycles": 1200, "ideal_cycles": 1100},
                           {"name": "s0_fold_conv1", "cycles": 2900, "ideal_cycles": 2800},
                           {"name": "classifier", "cycles": 221, "ideal_cycles": 40}]},
        "synth": {"lut": 9000, "ff": 14022, "bram": 29, "dsp": 0, "fits": True,
                  "clock_mhz": 100.0,
                  "resources": {"lut": 53200, "ff": 106400, "bram_18k": 280, "dsp": 220,
                                "uram": 0}},
    }


class _Cells(HTMLParser):
    def __init__(self):
        super().__init__()
        self.cells, self._cur = {}, None

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        if "data-key" in a:
            assert a["data-key"] not in self.cells, a["data-key"]
            self._cur = a["data-key"]
            self.cells[self._cur] = {"value": a["data-value"], "text": ""}

    def handle_data(self, data):
        if self._cur:
            self.cells[self._cur]["text"] += data

    def handle_endtag(self, tag):
        self._cur = None


def parse(path) -> dict:
    p = _Cells()
    p.feed(path.read_text())
    return p.cells


def num(s: str):
    if s in ("true", "false"):
        return s == "true"
    return float(s) if any(c in s for c in ".e") else int(s)


def test_html_numbers_match_reports(tmp_path):
    r = full_reports()
    res = write_report(tmp_path, r)
    cells = parse(tmp_path / "report.html")
    tot = r["memory"]["totals"]
    on_chip = tot["mask_bits"] + tot["stored_bits"] + tot["requant_bits"]
    want = {
        "train.test_accuracy": 0.9833, "train.golden_accuracy": 0.9816,
        "memory.on_chip_bits": on_chip, "memory.mask_bits": tot["mask_bits"],
        "memory.stored_bits": tot["stored_bits"],
        "memory.requant_bits": tot["requant_bits"],
        "memory.dense_fp32_bits": tot["dense_fp32_bits"],
        "memory.dense_int8_bits": tot["dense_int8_bits"],
        "ratio.dense_fp32_bits": tot["dense_fp32_bits"] / on_chip,
        "ratio.dense_int8_bits": tot["dense_int8_bits"] / on_chip,
        "hls.storage_bits": 9000, "hls.hls4ml_bits": 27008,
        "ratio.hls4ml_bits": 27008 / on_chip,
        "csim.vectors": 200, "csim.mismatches": 0, "sim.vectors": 50, "sim.mismatches": 0,
        "sim.cycles_per_inference": 4321, "board.clock_mhz": 100.0,
        "perf.frames_per_s": 100.0e6 / 4321,
        "synth.lut": 9000, "synth.ff": 14022, "synth.bram": 29, "synth.dsp": 0,
        "board.lut": 53200, "board.ff": 106400, "board.bram_18k": 280, "board.dsp": 220,
        "synth.fits": True,
    }
    for i, l in enumerate(LAYERS):
        for k, v in l.items():
            if k != "name":
                want[f"memory.layers.{i}.{k}"] = v
    for i, l in enumerate(r["sim"]["layers"]):
        want[f"sim.layers.{i}.cycles"] = l["cycles"]
        want[f"sim.layers.{i}.ideal_cycles"] = l["ideal_cycles"]
    assert set(cells) == set(want)
    for k, v in want.items():
        assert num(cells[k]["value"]) == v, k
        assert cells[k]["text"] != "not run"
    assert cells["synth.lut"]["text"] == "9,000 / 53,200 (16.9 %)"
    assert cells["train.test_accuracy"]["text"] == "0.9833"
    assert {row["key"]: row["value"] for row in res["rows"]}["perf.frames_per_s"] == \
        want["perf.frames_per_s"]
    for png in ("storage_per_layer.png", "cycles_per_layer.png"):
        data = (tmp_path / png).read_bytes()
        assert data[:8] == b"\x89PNG\r\n\x1a\n" and len(data) > 1000
        assert f'src="{png}"' in (tmp_path / "report.html").read_text()


def test_missing_reports_are_not_run(tmp_path):
    r = {"train": {"test_accuracy": 0.5}}
    write_report(tmp_path, r)
    cells = parse(tmp_path / "report.html")
    assert num(cells["train.test_accuracy"]["value"]) == 0.5
    for k in ("memory.on_chip_bits", "sim.cycles_per_inference", "perf.frames_per_s",
              "synth.lut", "synth.fits", "csim.mismatches", "hls.hls4ml_bits"):
        assert cells[k] == {"value": "", "text": "not run"}, k
    assert not any(k.startswith(("ratio.", "memory.layers.")) for k in cells)
    assert (tmp_path / "cycles_per_layer.png").read_bytes()[:4] == b"\x89PNG"
    table = format_summary_table(r)
    assert "not run" in table and "0.5" in table


def test_deterministic_and_no_overwrite(tmp_path):
    a, b = tmp_path / "a", tmp_path / "b"
    write_report(a, full_reports())
    write_report(b, full_reports())
    for f in ("report.html", "storage_per_layer.png", "cycles_per_layer.png"):
        assert (a / f).read_bytes() == (b / f).read_bytes(), f
    with pytest.raises(HfnError, match="exists"):
        write_report(a, full_reports())
    write_report(a, full_reports(), force=True)


def test_terminal_table_has_the_numbers():
    t = format_summary_table(full_reports())
    for s in ("0.9833", "4,321", "9,000 / 53,200 (16.9 %)", "fits the board", "yes"):
        assert s in t, s


def test_check_html_against_catches_a_changed_number(tmp_path):
    from hfn_hls.demo_report import check_html_against
    r = full_reports()
    write_report(tmp_path, r)
    assert check_html_against(tmp_path / "report.html", r) == []
    r["train"]["test_accuracy"] = 0.5
    assert check_html_against(tmp_path / "report.html", r)
