"""hfn_hls.stream_format against docs/interfaces.md on hand-written values (the
testbenches, the C++ testbench data and the driver all use it)."""
import numpy as np
import pytest

from hfn_hls import stream_format as sf


def test_input_words_channel0_in_low_bits_row_major():
    img = np.array([[[1, 2, 3], [250, 0, 128]],
                    [[255, 255, 255], [0, 0, 7]]])             # H=2, W=2, C=3
    words = [0x030201, 0x8000FA, 0xFFFFFF, 0x070000]
    assert sf.in_width(3) == 24
    assert sf.pack_image(img) == words
    assert sf.unpack_image(words, (2, 2, 3)).tolist() == img.tolist()
    assert sf.pack_images_bytes(img[None]).tobytes() == bytes(
        [1, 2, 3, 250, 0, 128, 255, 255, 255, 0, 0, 7])
    with pytest.raises(ValueError):
        sf.pack_image(img + 1)                                    # 256 is not a code


def test_output_words_are_int32_twos_complement():
    codes = [0, 1, -1, 2**31 - 1, -2**31, -123]
    words = [0, 1, 0xFFFFFFFF, 0x7FFFFFFF, 0x80000000, 0xFFFFFF85]
    assert sf.pack_outputs(np.array(codes)) == words
    assert sf.unpack_outputs(words).tolist() == codes
