"""Layer seeds that remember where they come from (no torch).

Every generated layer's seed must follow from the model seed and the layer's index
(``lfsr.derive_seed``, docs/weight-generation.md): the IR builder checks it.  A
``SeedSource`` hands out the seeds of one model in order; each is a ``LayerSeed``, an
``int`` that also carries its model seed and index, so that ``export`` can write both
into the metadata by looking at the layers alone.
"""
from __future__ import annotations

from .. import lfsr


class LayerSeed(int):
    """The seed of generated layer ``index`` of the model with seed ``model_seed``."""

    model_seed: int
    index: int

    def __new__(cls, model_seed: int, index: int) -> "LayerSeed":
        s = super().__new__(cls, lfsr.derive_seed(int(model_seed), int(index)))
        s.model_seed, s.index = int(model_seed), int(index)
        return s

    def __reduce__(self):
        return (LayerSeed, (self.model_seed, self.index))


class SeedSource:
    """Hands out layer seeds in call order: ``seeds = SeedSource(7); HfnConv2d(..., seed=seeds())``.

    Build the layers of one model from one source; the index of a layer is the number of
    seeds drawn before it (any order is fine: the metadata records each index)."""

    def __init__(self, model_seed: int = 2021):
        self.model_seed, self.index = int(model_seed), 0

    def __call__(self) -> LayerSeed:
        s = LayerSeed(self.model_seed, self.index)
        self.index += 1
        return s
