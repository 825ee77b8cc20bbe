"""Shared helpers of the RTL tests: projects written from IR graphs, one Verilator
build shared by every graph of a test (identical tops under a common floor)."""
from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
