"""What this machine offers the process: its cores."""

import os


def available_cores():
  """Cores this process may run on (respects CPU affinity and cpusets)."""
  try:
    return len(os.sched_getaffinity(0))
  except AttributeError:
    return os.cpu_count() or 1
