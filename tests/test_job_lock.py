import json
import os
import socket
import subprocess
import sys
import time

import pytest

from bert_ner.run import job_lock
import helpers


def write_lock(folder, host, pid, job, started, refreshed):
  locks = os.path.join(folder, job_lock.LOCKS_DIR_NAME)
  os.makedirs(locks, exist_ok=True)
  path = os.path.join(locks, "%s-%d.json" % (host, pid))
  with open(path, "w") as f:
    json.dump({"host": host, "pid": pid, "job": job, "started": started,
               "refreshed": refreshed}, f)
  return path


def lock_files(folder):
  return sorted(os.listdir(os.path.join(folder, job_lock.LOCKS_DIR_NAME)))


def test_acquire_release_and_same_job(tmp_path):
  folder = str(tmp_path)
  lock = job_lock.acquire(folder, job="cluster:abc")
  mine = "%s-%d.json" % (socket.gethostname(), os.getpid())
  assert lock_files(folder) == [mine]
  # A worker of the same job on another host shares the folder.
  write_lock(folder, "other-host", 7, "cluster:abc", time.time() - 60,
             time.time())
  assert job_lock.acquire(folder, job="cluster:abc") is lock
  job_lock.release(folder)
  assert lock_files(folder) == ["other-host-7.json"]
  again = job_lock.FolderLock(folder, "cluster:abc").acquire()
  again.release()
  again.release()  # Idempotent.


def test_live_lock_of_another_job_is_refused(tmp_path):
  folder = str(tmp_path)
  write_lock(folder, "gpu-node-3", 4242, "process:gpu-node-3:4242",
             time.time() - 600, time.time() - 5)
  with pytest.raises(job_lock.FolderInUseError) as e:
    job_lock.acquire(folder)
  assert "output folder %s is in use" % folder in str(e.value)
  assert "process 4242 on host gpu-node-3" in str(e.value)
  # The refused process leaves no lock behind, and the other's is intact.
  assert lock_files(folder) == ["gpu-node-3-4242.json"]


def test_a_later_job_does_not_stop_this_one(tmp_path):
  """Two jobs that start at once both see the other's lock: the one that
  started first keeps the folder, the later one is refused."""
  folder = str(tmp_path)
  now = time.time()
  other = write_lock(folder, "gpu-node-3", 4242, "process:gpu-node-3:4242",
                     now + 60, now)
  lock = job_lock.FolderLock(folder, "process:me").acquire()
  mine = os.path.basename(lock.path)
  # Not removed: the later job stops itself, and ours is held.
  assert lock_files(folder) == sorted([mine, os.path.basename(other)])
  # The later job, as it sees the folder: ours started first, so it stops.
  later = job_lock.FolderLock(folder, "process:later", clock=lambda: now + 60)
  later.host, later.pid = "gpu-node-3", 4242
  later.path = other
  with pytest.raises(job_lock.FolderInUseError, match="process %d on host "
                     "%s" % (os.getpid(), socket.gethostname())):
    later.acquire()
  assert lock_files(folder) == [mine]
  lock.release()
  assert lock_files(folder) == []


def test_stale_locks_are_taken_over(tmp_path):
  folder = str(tmp_path)
  # Another host, not refreshed for longer than STALE_SECS.
  write_lock(folder, "vanished-host", 11, "process:vanished-host:11",
             time.time() - 3600, time.time() - job_lock.STALE_SECS - 1)
  # This host, a process id that no longer runs.
  dead = subprocess.Popen([sys.executable, "-c", "pass"])
  dead.wait()
  write_lock(folder, socket.gethostname(), dead.pid, "process:x",
             time.time() - 3600, time.time())
  lock = job_lock.FolderLock(folder, "process:me").acquire()
  assert lock_files(folder) == [os.path.basename(lock.path)]
  lock.release()


@pytest.mark.slow
def test_lock_of_a_killed_process_is_taken_over(tmp_path):
  """A real holder: refused while it runs, taken over once it is killed."""
  folder = str(tmp_path)
  holder = subprocess.Popen([
      sys.executable, "-c",
      "import sys, time; sys.path.insert(0, %r); from bert_ner.run import job_lock; "
      "job_lock.acquire(%r); print('held', flush=True); time.sleep(600)" %
      (helpers.ROOT, folder)
  ],
                            stdout=subprocess.PIPE,
                            text=True)
  try:
    assert holder.stdout.readline().strip() == "held"
    with pytest.raises(job_lock.FolderInUseError,
                       match="process %d on host" % holder.pid):
      job_lock.FolderLock(folder, "process:me").acquire()
  finally:
    holder.kill()
    holder.wait()
  lock = job_lock.FolderLock(folder, "process:me").acquire()
  assert lock_files(folder) == [os.path.basename(lock.path)]
  lock.release()
  assert lock_files(folder) == []


def test_lock_is_refreshed(tmp_path):
  lock = job_lock.FolderLock(str(tmp_path), "process:me",
                             heartbeat_secs=0.05).acquire()
  with open(lock.path) as f:
    first = json.load(f)["refreshed"]
  time.sleep(0.5)
  with open(lock.path) as f:
    assert json.load(f)["refreshed"] > first
  lock.release()
