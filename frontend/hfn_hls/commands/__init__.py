"""Sub-commands of ``hfn-hls``; see ``hfn_hls.cli``."""
