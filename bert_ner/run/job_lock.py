"""One job per output folder: a lock file per process, naming its job.

Every run_ner.py process writes `OUTPUT_DIR/.locks/<host>-<pid>.json` with
its host, process id, start time and job: its own process, or, for the
workers of one --multi_worker job, the job's TF_CONFIG cluster, so that
members of one job share the folder and any other job is refused:

    lock = job_lock.acquire("out/ncbi", job="cluster:3f2a...")
    ...                      # the folder is this job's
    lock.release()           # also done at exit

A lock whose process is gone is taken over: at once on the same host when
its process id no longer runs, and wherever it has not been refreshed for
`stale_secs` (each holder rewrites its file every `heartbeat_secs`). When two
jobs start at once, both write their lock, both see the other's, and the one
that started later (then the larger host-pid name) stops; the other goes on.
Reads and writes go through tf.io.gfile, so the folder may be on gs://.
"""

import atexit
import contextlib
import json
import os
import socket
import threading
import time

import tensorflow.compat.v1 as tf

from bert_ner import errors
from bert_ner import file_io

LOCKS_DIR_NAME = ".locks"
HEARTBEAT_SECS = 30.0
STALE_SECS = 4 * HEARTBEAT_SECS


class FolderInUseError(errors.JobError):
  """The output folder belongs to another live job."""


def process_job():
  """The job id of a process that runs alone."""
  return "process:%s:%d" % (socket.gethostname(), os.getpid())


class FolderLock(object):
  """The lock this process holds on a folder (see the module doc)."""

  def __init__(self, folder, job, heartbeat_secs=HEARTBEAT_SECS,
               stale_secs=STALE_SECS, clock=time.time):
    self.folder = folder
    self.job = job
    self.heartbeat_secs = heartbeat_secs
    self.stale_secs = stale_secs
    self._clock = clock
    self.host = socket.gethostname()
    self.pid = os.getpid()
    self.started = clock()
    self.locks_dir = os.path.join(folder, LOCKS_DIR_NAME)
    self.path = os.path.join(self.locks_dir,
                             "%s-%d.json" % (self.host, self.pid))
    self._stop = threading.Event()
    self._thread = None

  def _record(self):
    return {"host": self.host, "pid": self.pid, "job": self.job,
            "started": self.started, "refreshed": self._clock()}

  def _write(self):
    file_io.atomic_write_text(self.path, json.dumps(self._record()))

  def _others(self):
    """(path, record) of every other process's lock file in the folder."""
    for name in sorted(tf.io.gfile.listdir(self.locks_dir)):
      path = os.path.join(self.locks_dir, name)
      if not name.endswith(".json") or path == self.path:
        continue
      try:
        with tf.io.gfile.GFile(path) as f:
          record = json.load(f)
      except (tf.errors.NotFoundError, ValueError):
        continue  # Released meanwhile, or being replaced.
      yield path, record

  def is_stale(self, record):
    """Whether a lock's process is gone: it no longer runs (on this host),
    or it has not refreshed its file for stale_secs (a process id reused by
    another program, or a process on a host that vanished)."""
    if record.get("host") == self.host and not file_io.pid_alive(
        int(record.get("pid", -1))):
      return True
    return self._clock() - float(record.get("refreshed", 0)) > self.stale_secs

  def acquire(self):
    """Takes the folder for this job.

    Raises:
      FolderInUseError: naming the folder and the other job's host and
        process, if a live process of another job holds it.
    """
    tf.io.gfile.makedirs(self.locks_dir)
    self._write()
    me = (self.started, "%s-%d" % (self.host, self.pid))
    for path, other in self._others():
      if other.get("job") == self.job:
        continue
      if self.is_stale(other):
        tf.logging.info("Taking over %s: its process %s on %s is gone.",
                        path, other.get("pid"), other.get("host"))
        try:
          tf.io.gfile.remove(path)
        except tf.errors.NotFoundError:
          pass
        continue
      them = (float(other.get("started", 0)),
              "%s-%s" % (other.get("host"), other.get("pid")))
      if them < me:
        self._remove_file()
        raise FolderInUseError(
            "The output folder %s is in use by another run_ner.py job: "
            "process %s on host %s, started %s (lock file %s). Wait for it "
            "to finish, or give another --output_dir." % (
                self.folder, other.get("pid"), other.get("host"),
                time.strftime("%Y-%m-%d %H:%M:%S",
                              time.localtime(float(other.get("started", 0)))),
                path))
    self._thread = threading.Thread(target=self._beat, daemon=True,
                                    name="job-lock-heartbeat")
    self._thread.start()
    atexit.register(self.release)
    return self

  def _beat(self):
    while not self._stop.wait(self.heartbeat_secs):
      try:
        self._write()
      except (tf.errors.OpError, OSError) as e:
        tf.logging.warning("Could not refresh the lock %s: %s", self.path, e)

  def _remove_file(self):
    try:
      tf.io.gfile.remove(self.path)
    except tf.errors.NotFoundError:
      pass

  def release(self):
    """Gives the folder up (idempotent)."""
    if self._stop.is_set():
      return
    self._stop.set()
    if self._thread:
      self._thread.join()
    self._remove_file()
    _HELD.pop(self.folder, None)


_HELD = {}


def acquire(folder, job=None):
  """The lock of `folder` for `job` (default: this process alone), taken
  once per process and folder; released by `release`, or at exit.

  Raises:
    FolderInUseError: if another live job holds the folder.
  """
  job = job or process_job()
  held = _HELD.get(folder)
  if held and held.job == job:
    return held
  if held:
    held.release()
  lock = FolderLock(folder, job).acquire()
  _HELD[folder] = lock
  return lock


@contextlib.contextmanager
def held(folder, job=None):
  """Holds the lock of `folder` (created if needed) for `job` while the
  block runs: the one place a run takes and releases its output folder.

      with job_lock.held(output_dir):
        run the job

  Raises:
    FolderInUseError: if another live job holds the folder.
  """
  tf.io.gfile.makedirs(folder)
  acquire(folder, job)
  try:
    yield
  finally:
    release(folder)


def release(folder):
  """Releases this process's lock of `folder`, if it holds one."""
  held = _HELD.get(folder)
  if held:
    held.release()
