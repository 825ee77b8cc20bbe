"""One owner for the figures the demo and the README show: the golden-accuracy key of
the demo's "train" report, and what the on-chip total counts."""
from __future__ import annotations

import re
from pathlib import Path

from hfn_hls.demo_report import GOLDEN_ACCURACY, summary_rows, train_report

ROOT = Path(__file__).resolve().parents[1]


def rows(reports: dict) -> dict:
    return {r["key"]: r for r in summary_rows(reports)}


def test_golden_accuracy_row_appears():
    r = rows({"train": train_report({"test_accuracy": 0.9861}, 0.9833)})
    assert r[f"train.{GOLDEN_ACCURACY}"]["value"] == 0.9833
    assert r[f"train.{GOLDEN_ACCURACY}"]["label"] == "accuracy (golden model)"
    # the demo builds its "train" report with the same owner (no private key spelling)
    demo = (ROOT / "scripts" / "demo.py").read_text()
    assert "train_report(train, golden[\"test_accuracy\"])" in demo
    assert "golden_test_accuracy" not in demo and "golden_accuracy" not in demo


def test_on_chip_total_counts_mask_lfsr_states_and_requant():
    layers = [{"unique_weights": 288, "mask_bits": 288, "lfsr_state_bits": 1024,
               "requant_bits": 6272, "dense_fp32_bits": 9216, "dense_int8_bits": 2304},
              {"unique_weights": 9216, "mask_bits": 9216, "lfsr_state_bits": 1024,
               "requant_bits": 5000, "dense_fp32_bits": 294912, "dense_int8_bits": 73728}]
    r = rows({"memory": {"layers": layers}})       # totals derived from the layers
    on = r["memory.on_chip_bits"]
    assert "LFSR start states" in on["label"]
    parts = [r[f"memory.{k}"]["value"] for k in ("mask_bits", "lfsr_state_bits",
                                                 "requant_bits")]
    assert on["value"] == sum(parts) == 9504 + 2048 + 11272


def _num(s: str) -> int:
    return int(s.replace(",", ""))


def test_readme_storage_rows_add_up():
    text = (ROOT / "README.md").read_text()
    total = re.search(r"^\| on-chip model storage \(([^)]*)\) \| ([\d,]+) bits \|$", text, re.M)
    parts = re.search(r"^\| supermask / LFSR start states / requantisation \| ([\d,]+) / "
                      r"([\d,]+) / ([\d,]+) bits \|$", text, re.M)
    assert total and parts, "README's storage rows changed shape"
    assert total.group(1) == "mask + LFSR start states + requantisation parameters"
    assert _num(total.group(2)) == sum(_num(parts.group(i)) for i in (1, 2, 3))
