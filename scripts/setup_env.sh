#!/usr/bin/env bash
# Set up (or reuse) the project's virtual environment in .venv with the pinned packages.
# Sourced by demo.sh and test.sh; safe to run again: it reinstalls only when
# pyproject.toml or setup.py changed.  Installs the editable package with every extra
# ([test] = [train,hw] + pytest): the suite needs all of them.  Needs python3 (3.10+)
# with venv, and g++ for C simulation.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
VENV="${HFN_VENV:-$ROOT/.venv}"
PY="${PYTHON:-python3}"

if [ ! -x "$VENV/bin/python" ]; then
  echo "[setup] creating virtual environment $VENV"
  "$PY" -m venv "$VENV"
fi
STAMP="$VENV/.hfn-hls-installed"
WANT="$(cat "$ROOT/pyproject.toml" "$ROOT/setup.py" | sha256sum | cut -d' ' -f1)"
if [ ! -f "$STAMP" ] || [ "$(cat "$STAMP")" != "$WANT" ] || ! "$VENV/bin/python" -c "import hfn_hls" 2>/dev/null; then
  echo "[setup] installing pinned packages (first time: a few minutes)"
  "$VENV/bin/python" -m pip install -q --upgrade pip
  # torch first, pinned: 2.13.0 is the CPU build on this machine; anything else pulls CUDA.
  "$VENV/bin/python" -m pip install -q "torch==2.13.0"
  "$VENV/bin/python" -m pip install -q -e "$ROOT[test]"      # [train,hw] + pytest
  echo "$WANT" > "$STAMP"
fi
if ! command -v g++ >/dev/null 2>&1; then
  echo "[setup] warning: g++ not found: C simulation (hfn-hls csim) will not run" >&2
fi
export PATH="$VENV/bin:$PATH"
