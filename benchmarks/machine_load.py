"""How busy the whole machine was: on a shared 2-core machine another process visibly slows
every figure, so the benchmarks print how much CPU others used while they measured."""

import os
from pathlib import Path


def machine_busy_seconds() -> float | None:
    """CPU seconds all processes have used since boot (Linux /proc/stat), else None.
    Steal time counts as busy: the hypervisor gave that CPU to someone else."""
    try:
        fields = [int(v) for v in Path("/proc/stat").read_text().split("\n")[0].split()[1:9]]
    except (OSError, ValueError):
        return None
    return (sum(fields) - fields[3] - fields[4]) / os.sysconf("SC_CLK_TCK")
