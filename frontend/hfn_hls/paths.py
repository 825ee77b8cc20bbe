"""Where the repository's non-Python parts live (HLS library, RTL library, boards, vectors)."""
from __future__ import annotations

from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
HLS_TEMPLATES = REPO / "hls_templates"
RTL_DIR = REPO / "rtl"
BOARDS_DIR = REPO / "boards"
TEST_VECTORS = REPO / "test_vectors"
