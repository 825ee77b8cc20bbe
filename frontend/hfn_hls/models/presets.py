"""Named network configurations (``--preset``).

A preset fixes the architecture; the data set (``--dataset``) fixes the input size and
the number of classes.  HFN presets follow the HFN reference code (github
Lopez-Angel/hidden-fold-networks): ``*_3_4_ubn`` folds stages 3 and 4, ``*_2_3_4_ubn``
also stage 2; each folded stage is one projection block plus one block iterated
``blocks - 1`` times with unshared affine BatchNorm.  Dense presets are the ordinary
ResNets (stored weights) that HFN is compared against.
"""
from __future__ import annotations

from dataclasses import dataclass, field, replace

from ..errors import HfnError

DATASETS = {
    # name: (channels, height, width, classes, stem)
    "digits": (1, 8, 8, 10, "small"),
    "cifar10": (3, 32, 32, 10, "cifar"),
    "cifar100": (3, 32, 32, 100, "cifar"),
    "imagenet": (3, 224, 224, 1000, "imagenet"),
}


@dataclass(frozen=True)
class Preset:
    name: str
    block: str                      # "basic" | "bottleneck"
    widths: tuple[int, ...]         # planes per stage (before expansion)
    blocks: tuple[int, ...]         # blocks per stage
    folded: tuple[bool, ...]        # is the stage folded
    stem_width: int
    dataset: str                    # default data set
    hfn: bool = True                # False: dense baseline (stored weights)
    width_factor: int = 1           # wide ResNet: inner width multiplier (bottleneck)
    k: float = 0.3
    act_bits: int = 4
    res_bits: int = 5              # act_bits + 1: threshold ROMs stay small
    extra: dict = field(default_factory=dict)

    @property
    def expansion(self) -> int:
        return 4 if self.block == "bottleneck" else 1

    def with_dataset(self, dataset: str) -> "Preset":
        if dataset not in DATASETS:
            raise HfnError(f"--dataset {dataset}", "unknown data set",
                           f"choose one of: {', '.join(DATASETS)}")
        return replace(self, dataset=dataset)


def _hfn(name, block, blocks, folded_stages, width_factor=1):
    folded = tuple(i + 1 in folded_stages for i in range(4))
    return Preset(name, block, (64, 128, 256, 512), tuple(blocks), folded, 64, "cifar100",
                  width_factor=width_factor)


def _dense(name, block, blocks):
    return Preset(name, block, (64, 128, 256, 512), tuple(blocks), (False,) * 4, 64,
                  "cifar100", hfn=False)


_DEPTHS = {18: ("basic", [2, 2, 2, 2]), 34: ("basic", [3, 4, 6, 3]),
           50: ("bottleneck", [3, 4, 6, 3]), 101: ("bottleneck", [3, 4, 23, 3]),
           152: ("bottleneck", [3, 8, 36, 3]), 200: ("bottleneck", [3, 24, 36, 3])}

PRESETS: dict[str, Preset] = {
    "digits": Preset("digits", "basic", (32, 64), (2, 2), (True, True), 32, "digits",
                     k=0.5, extra={"epochs": 10}),
    "resnet20": Preset("resnet20", "basic", (16, 32, 64), (3, 3, 3), (True, False, False),
                       16, "cifar10", k=0.5),
    "resnet32": Preset("resnet32", "basic", (16, 32, 64), (5, 5, 5), (True, False, False),
                       16, "cifar10", k=0.5),
}
for _d in (50, 101, 152, 200):
    PRESETS[f"hfn_resnet{_d}_3_4_ubn"] = _hfn(f"hfn_resnet{_d}_3_4_ubn", *_DEPTHS[_d], {3, 4})
PRESETS["hfn_wide_resnet50_3_4_ubn"] = _hfn("hfn_wide_resnet50_3_4_ubn", *_DEPTHS[50], {3, 4},
                                            width_factor=2)
PRESETS["hfn_resnet50_2_3_4_ubn"] = _hfn("hfn_resnet50_2_3_4_ubn", *_DEPTHS[50], {2, 3, 4})
for _d in (18, 34, 50, 101, 152, 200):
    PRESETS[f"resnet{_d}"] = _dense(f"resnet{_d}", *_DEPTHS[_d])


def get_preset(name: str, dataset: str | None = None) -> Preset:
    if name not in PRESETS:
        raise HfnError(f"--preset {name}", "unknown preset",
                       f"choose one of: {', '.join(PRESETS)}")
    p = PRESETS[name]
    return p.with_dataset(dataset) if dataset else p
