"""hfn-hls: Hidden-Fold Networks to FPGA hardware that generates its weights on chip."""
__version__ = "0.1.0"
