#!/usr/bin/env bash
# The demo on a fresh machine: set up .venv, then train the digits model, export, build
# the IR, generate the HLS + RTL project for pynq-z2, run C simulation, RTL simulation and
# open synthesis, and write a summary table, plots and an HTML report into OUT_DIR.
#   ./scripts/demo.sh [OUT_DIR] [--force] [--board B] [--lanes N]
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
source "$ROOT/scripts/setup_env.sh"
exec python "$ROOT/scripts/demo.py" "$@"
