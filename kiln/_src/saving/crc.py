"""CRC-32 (the zip checksum): fast computation and combination.

`combine(crc_a, crc_b, length_b)` gives the CRC of ``a + b`` from the CRCs of
``a`` and ``b`` without their bytes. It multiplies polynomials modulo the
CRC-32 polynomial in its bit-reflected form: appending ``n`` bytes multiplies
the register by ``x^(8n)``, so ``crc(a + b) = crc(a) * x^(8 len(b)) + crc(b)``
(the initial and final inversions cancel). This lets the `.keras` writer
checksum the weights as they are written, in whatever order h5py writes them,
instead of reading the member back.
"""

from __future__ import annotations

try:  # ISA-L's CRC-32 runs at several GB/s, about 4x zlib's.
    from isal.isal_zlib import crc32
except ImportError:  # pragma: no cover - platforms without an isal wheel
    from zlib import crc32

__all__ = ["combine", "crc32"]

_POLYNOMIAL = 0xEDB88320  # x^32 + x^26 + ... + 1, bit-reflected
_ONE = 1 << 31  # the polynomial 1 in the reflected representation


def _multiply(a: int, b: int) -> int:
    """a * b modulo the CRC polynomial (both reflected)."""
    product = 0
    bit = _ONE
    while a:
        if a & bit:
            product ^= b
            a ^= bit
        bit >>= 1
        b = (b >> 1) ^ _POLYNOMIAL if b & 1 else b >> 1
    return product


def _powers_of_x() -> list[int]:
    """x^(2^k) modulo the polynomial, for k = 0..63."""
    powers = [_ONE >> 1]  # x^1
    for _ in range(63):
        powers.append(_multiply(powers[-1], powers[-1]))
    return powers


_X_TO_2_TO_K = _powers_of_x()


def _x_to_the(bits: int) -> int:
    """x^bits modulo the polynomial."""
    result, k = _ONE, 0
    while bits:
        if bits & 1:
            result = _multiply(_X_TO_2_TO_K[k], result)
        bits >>= 1
        k += 1
    return result


def combine(crc_a: int, crc_b: int, length_b: int) -> int:
    """The CRC-32 of ``a + b``, given ``crc32(a)``, ``crc32(b)`` and ``len(b)``."""
    if length_b < 0:
        raise ValueError(f"length_b must be >= 0. Received: length_b={length_b}")
    return _multiply(_x_to_the(8 * length_b), crc_a) ^ crc_b
