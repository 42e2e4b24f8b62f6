import random
import zlib

import pytest

from kiln._src.saving import crc


@pytest.mark.parametrize("length_a", [0, 1, 7, 1000])
@pytest.mark.parametrize("length_b", [0, 1, 13, 4096, 100_003])
def test_combine_equals_crc_of_concatenation(length_a, length_b):
    generator = random.Random(length_a * 31 + length_b)
    a = generator.randbytes(length_a)
    b = generator.randbytes(length_b)
    combined = crc.combine(zlib.crc32(a), zlib.crc32(b), len(b))
    assert combined == zlib.crc32(a + b)


def test_combine_of_many_pieces_matches_one_pass():
    generator = random.Random(5)
    pieces = [generator.randbytes(generator.randrange(0, 5000)) for _ in range(40)]
    running = 0
    for piece in pieces:
        running = crc.combine(running, zlib.crc32(piece), len(piece))
    assert running == zlib.crc32(b"".join(pieces))


def test_fast_crc32_matches_zlib():
    data = random.Random(1).randbytes(1 << 20)
    assert crc.crc32(data) == zlib.crc32(data)
    assert crc.crc32(data[10:], crc.crc32(data[:10])) == zlib.crc32(data)


def test_combine_rejects_a_negative_length():
    with pytest.raises(ValueError, match="length_b"):
        crc.combine(0, 0, -1)
