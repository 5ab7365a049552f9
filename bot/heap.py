"""How the C library's allocator serves large blocks (glibc only)."""

from __future__ import annotations

import ctypes

M_MMAP_THRESHOLD = -3  # mallopt parameter number in glibc's <malloc.h>
MMAP_THRESHOLD = 128 * 1024  # glibc's default starting value


def fix_mmap_threshold() -> bool:
    """Keep blocks of 128 KiB and more in their own mappings; False where not glibc.

    glibc raises this threshold each time such a block is freed, after which large blocks
    live in the heap. Building the place directory grows a dozen arrays of 100-600 KiB
    by small steps; in the heap every step can move an array and leave a hole, ~3 MiB of
    holes by the end, at the start-up peak. Mapped, an array grows in place (mremap) and a
    freed one goes back to the system at once. Measured with bench/memory.py: start-up
    peak 121 -> 119 MiB.
    """
    try:
        mallopt = ctypes.CDLL(None).mallopt
    except (OSError, AttributeError):  # musl, macOS: their allocator, their ways
        return False
    mallopt.argtypes = [ctypes.c_int, ctypes.c_int]
    mallopt.restype = ctypes.c_int
    return bool(mallopt(M_MMAP_THRESHOLD, MMAP_THRESHOLD))
