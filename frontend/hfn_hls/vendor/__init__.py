"""Vendor synthesis flow (Vitis HLS, Vivado, v++): generated scripts, tool look-up,
report parsing.  ``flow.run_vendor_synth`` is what ``hfn-hls synth PRJ/`` calls.
See docs/vendor-flow.md."""
