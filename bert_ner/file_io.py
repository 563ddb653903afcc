"""Files written whole or not at all (temporary names renamed into place),
the plan file of a restartable job, and the temporary files of dead
processes."""

import contextlib
import json
import os
import re

import tensorflow.compat.v1 as tf


def temporary_name(path):
  """The temporary name of `path` for this process: one per process, so
  workers of one job sharing a folder never write into each other's file."""
  return "%s.tmp-%d" % (path, os.getpid())


@contextlib.contextmanager
def atomic_path(path):
  """Yields a temporary name to write `path` under; renames it into place
  when the block ends without an error, removes it when it raises.

      with atomic_path("out/train-00000") as tmp:
        write(tmp)
  """
  tmp = temporary_name(path)
  try:
    yield tmp
  except BaseException:
    if tf.io.gfile.exists(tmp):
      tf.io.gfile.remove(tmp)
    raise
  tf.io.gfile.rename(tmp, path, overwrite=True)


@contextlib.contextmanager
def AtomicTextFile(path):  # pylint: disable=invalid-name
  """A text file written whole or not at all (see atomic_path).

      with AtomicTextFile("out/test_predictions.txt") as f:
        for ...:
          f.write(line)
  """
  with atomic_path(path) as tmp:
    with tf.io.gfile.GFile(tmp, "w") as f:
      # GFile creates the file at its first write: an empty output is a file.
      f.write("")
      yield f


def atomic_write_text(path, text):
  """Writes a text file whole or not at all."""
  with AtomicTextFile(path) as f:
    f.write(text)


def previous_plan(path, plan):
  """A restartable job's plan file: writes `plan` (JSON) to `path` when
  absent; returns the plan found there when it differs, else None (the
  caller says why that is an error)."""
  if tf.io.gfile.exists(path):
    with tf.io.gfile.GFile(path) as f:
      previous = json.load(f)
    return previous if previous != plan else None
  tf.io.gfile.makedirs(os.path.dirname(path) or ".")
  atomic_write_text(path, json.dumps(plan, indent=1) + "\n")
  return None


def pid_alive(pid):
  """Whether process `pid` runs on this machine."""
  try:
    os.kill(pid, 0)
  except ProcessLookupError:
    return False
  except OSError:
    return True  # Someone else's process, but alive.
  return True


def written_by_live_process(path):
  """Whether `path` is another live process's temporary file (a worker of
  the same job writing beside this one)."""
  match = re.search(r"\.tmp-(\d+)$", path)
  if not match or int(match.group(1)) == os.getpid():
    return False
  return pid_alive(int(match.group(1)))


# TensorFlow's own temporary names (graph.pbtxt.tmp<uuid hex>), left by a
# process killed, or stopped by a full disk, while writing.
_TF_TEMPORARY_RE = re.compile(r"\.tmp[0-9a-f]{32}$")


def remove_stale_temporary_files(folder):
  """Removes the temporary files that dead processes left in `folder`: this
  project's (NAME.tmp-PID, unless that process lives) and TensorFlow's
  (NAME.tmp<hex>); returns their paths. Call it while holding the folder
  for the job (job_lock), before the job writes."""
  if "://" in folder or not os.path.isdir(folder):
    return []
  removed = []
  for name in os.listdir(folder):
    path = os.path.join(folder, name)
    ours = re.search(r"\.tmp-\d+$", name) and not written_by_live_process(
        path) and not name.endswith(".tmp-%d" % os.getpid())
    if (ours or _TF_TEMPORARY_RE.search(name)) and os.path.isfile(path):
      os.remove(path)
      removed.append(path)
  return removed

