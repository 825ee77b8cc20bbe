"""The block plan of a preset: which residual blocks exist as hardware and how often each
runs.  Torch-free, so that ``report`` and the IR tools run without the training extra."""
from __future__ import annotations

from dataclasses import dataclass

from .presets import Preset


@dataclass
class BlockPlan:
    """One block of the plan: shapes, and how often it runs (1 = not folded)."""

    name: str
    in_ch: int
    mid_ch: int
    out_ch: int
    stride: int
    iterations: int
    projection: bool
    folded: bool


def plan_blocks(p: Preset) -> list[list[BlockPlan]]:
    """Per stage, the blocks that exist as hardware (a folded block appears once)."""
    stages = []
    in_ch = p.stem_width
    for s, (planes, n, fold) in enumerate(zip(p.widths, p.blocks, p.folded)):
        stride = 1 if s == 0 else 2
        out_ch = planes * p.expansion
        mid = planes * p.width_factor if p.block == "bottleneck" else planes
        needs_proj = stride != 1 or in_ch != out_ch
        blocks = []
        if fold:
            if needs_proj:
                blocks.append(BlockPlan(f"stage{s + 1}.proj", in_ch, mid, out_ch, stride, 1,
                                        True, False))
                if n > 1:
                    blocks.append(BlockPlan(f"stage{s + 1}.fold", out_ch, mid, out_ch, 1,
                                            n - 1, False, True))
            else:
                blocks.append(BlockPlan(f"stage{s + 1}.fold", in_ch, mid, out_ch, 1, n,
                                        False, True))
        else:
            for b in range(n):
                blocks.append(BlockPlan(f"stage{s + 1}.block{b}", in_ch if b == 0 else out_ch,
                                        mid, out_ch, stride if b == 0 else 1, 1,
                                        b == 0 and needs_proj, False))
        in_ch = out_ch
        stages.append(blocks)
    return stages
