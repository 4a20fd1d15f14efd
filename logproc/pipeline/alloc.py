"""Allocator settings for the daemon process (glibc only; a no-op elsewhere).

Every batch allocates a few buffers of hundreds of KiB (the payloads, the blobs sent to
worker processes, their replies). glibc serves blocks above its mmap threshold (128 KiB
at first) with a fresh mmap and gives them back with munmap, and trims freed memory off
the top of the heap: each batch then pays its page faults again, which on a VM cost more
than the copies themselves (J3 with workers: 4.4 ms per batch of 1,600 lines in the
daemon process, 3.2 ms with these settings; docs/performance.md).

``tune()`` raises the mmap threshold to 16 MiB and the trim threshold to 64 MiB, the same
values the worker processes get through ``MALLOC_*`` variables (``procpool.MALLOC_ENV``).
Peak memory is unchanged (the same blocks are live at the peak); freed blocks stay in the
heap for the next batch instead of going back to the kernel. An operator's own
``MALLOC_MMAP_THRESHOLD_`` / ``MALLOC_TRIM_THRESHOLD_`` win: then nothing is changed.
"""

from __future__ import annotations

import os
import sys

MMAP_THRESHOLD = 16 << 20
TRIM_THRESHOLD = 64 << 20
_M_TRIM_THRESHOLD = -1  # mallopt parameters, from glibc's malloc.h
_M_MMAP_THRESHOLD = -3


def tune() -> bool:
    """Apply the settings once per process; True when applied."""
    if not sys.platform.startswith("linux"):
        return False
    if "MALLOC_MMAP_THRESHOLD_" in os.environ or "MALLOC_TRIM_THRESHOLD_" in os.environ:
        return False
    try:
        import ctypes

        mallopt = ctypes.CDLL(None).mallopt
    except (OSError, AttributeError):  # not glibc (musl has no mallopt)
        return False
    mmap_ok = mallopt(_M_MMAP_THRESHOLD, MMAP_THRESHOLD)
    return bool(mmap_ok) and bool(mallopt(_M_TRIM_THRESHOLD, TRIM_THRESHOLD))
