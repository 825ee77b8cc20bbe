"""Host drivers for the generated hardware: ``HfnOverlay`` (PYNQ Overlay + AXI DMA) and
``SoftwareOverlay``, a labelled software stand-in for tests.  See docs/driver.md."""
from .pynq_driver import HfnOverlay
from .software_overlay import SoftwareOverlay

__all__ = ["HfnOverlay", "SoftwareOverlay"]
