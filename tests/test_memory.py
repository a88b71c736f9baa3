"""The allocator setting gutjoint applies to the processes it owns is taken by glibc, and is not applied at import."""

from __future__ import annotations

import subprocess
import sys

import pytest


def test_the_cli_and_its_workers_keep_freed_memory_but_an_import_does_not_touch_it():
    from gutjoint._memory import keep_freed_memory

    if sys.platform != "linux":
        pytest.skip("mallopt is glibc's")
    assert keep_freed_memory() is True  # glibc accepted both thresholds
    code = ("import ctypes, gutjoint, gutjoint._interfaces.cli, gutjoint._studies.sensitivity; "
            "import sys; sys.exit(0 if 'gutjoint._memory' not in sys.modules else 3)")
    assert subprocess.run([sys.executable, "-c", code], timeout=120).returncode == 0
