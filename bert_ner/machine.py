"""What this machine offers the process: its cores, and what its CPU
computes natively."""

import os


def available_cores():
  """Cores this process may run on (respects CPU affinity and cpusets)."""
  try:
    return len(os.sched_getaffinity(0))
  except AttributeError:
    return os.cpu_count() or 1


# /proc/cpuinfo flags of native bfloat16 dot products: AVX512-BF16 (Cooper
# Lake, Sapphire Rapids, Zen 4) or AMX (Sapphire Rapids and later).
BF16_FLAGS = ("avx512_bf16", "amx_bf16")
CPUINFO = "/proc/cpuinfo"


def cpu_flags(path=None):
  """The flags of the first CPU in /proc/cpuinfo (an empty set when there
  is no such file)."""
  path = path or CPUINFO
  try:
    with open(path) as f:
      for line in f:
        if line.startswith("flags"):
          return set(line.split(":", 1)[1].split())
  except OSError:
    pass
  return set()


def check_native_bf16(what="--use_bf16", path=None):
  """Raises ValueError unless this CPU computes bfloat16 natively (on
  others TensorFlow would emulate it, slower than float32)."""
  path = path or CPUINFO
  flags = cpu_flags(path)
  if not flags & set(BF16_FLAGS):
    raise ValueError(
        "%s needs a CPU with native bfloat16 (%s in %s), and this one has "
        "neither%s: without them bfloat16 is emulated, slower than float32. "
        "Leave %s out." % (what, " or ".join(BF16_FLAGS), path,
                           "" if flags else " (no flags read)", what))
