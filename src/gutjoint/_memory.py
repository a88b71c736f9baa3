"""How the C allocator treats freed memory, for the processes gutjoint owns (the CLI, the server, its workers).

glibc's malloc serves every block above a threshold (128 KB to start) with a fresh ``mmap`` and gives it back on
``free``. Code that allocates and frees arrays of a megabyte or two thousands of times then spends most of its
time in page faults: SALib's Sobol bootstrap (arrays of N x resamples) ran 3x slower for it (0.5 s against 0.16 s
per analysis at N = 1024, 200 resamples; benchmarks/bench_explain.py). glibc adjusts the threshold upward only
after large blocks have been freed, so the speed depended on what the process had done before. Raising the
thresholds once (``mallopt``; documented in glibc's manual, "Malloc Tunable Parameters") keeps such blocks in the
heap. Results do not change. Nothing calls this at import: a user's own process is left as it is.
"""

from __future__ import annotations

import ctypes
import ctypes.util

M_TRIM_THRESHOLD, M_MMAP_THRESHOLD = -1, -3  # glibc's <malloc.h>
MMAP_THRESHOLD_BYTES = 32 * 2**20
TRIM_THRESHOLD_BYTES = 128 * 2**20


def keep_freed_memory() -> bool:
    """Serve blocks below 32 MB from the heap and keep up to 128 MB of freed heap; True where glibc took it
    (elsewhere nothing happens)."""
    name = ctypes.util.find_library("c")
    if not name:
        return False
    try:
        libc = ctypes.CDLL(name)
        mallopt = libc.mallopt
    except (OSError, AttributeError):
        return False
    mallopt.argtypes, mallopt.restype = (ctypes.c_int, ctypes.c_int), ctypes.c_int
    return bool(mallopt(M_MMAP_THRESHOLD, MMAP_THRESHOLD_BYTES)) and bool(mallopt(M_TRIM_THRESHOLD,
                                                                                     TRIM_THRESHOLD_BYTES))
