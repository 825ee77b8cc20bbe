"""The pixel-lane engine ("pixel", docs/rtl.md): S streams of three kernel-column terms
over tiles of P output pixels, skipping masked-out weights.

- ``config``: ``PixelConfig`` (P, S, RS, ...), ``parse_pixel``;
- ``schedule``: the lowered Program -> passes, tiles, routing classes, ROM images and
  the layer tables the RTL runs (``compile_pixel``);
- ``cycles``: the cycle model (the one owner of predicted cycles for this engine);
- ``resources``: the resource model and the ``--lanes auto`` chooser;
- ``writer``: the generated top ``hfn_top.v`` of a pixel design.
"""
from .config import PixelConfig, parse_pixel

__all__ = ["PixelConfig", "parse_pixel"]
