"""Host driver for the generated hardware: ``HfnOverlay`` (PYNQ Overlay + AXI DMA).
See docs/driver.md."""
from .pynq_driver import HfnOverlay

__all__ = ["HfnOverlay"]
