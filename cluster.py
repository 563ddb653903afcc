"""Multi-worker jobs: TF_CONFIG, the job's identity, and lost workers.

A --multi_worker job is the same run_ner.py command on every worker, each
with TF_CONFIG naming the cluster and its own task, for example on two
machines:

    TF_CONFIG='{"cluster": {"worker": ["10.0.0.1:2222", "10.0.0.2:2222"]},
                "task": {"type": "worker", "index": 0}}'

A worker that dies or never starts must stop the others with a message, not
leave them waiting. TensorFlow gives the means: a session deadline
(ConfigProto.operation_timeout_in_ms) bounds every step, so a peer that
never answers fails the step with DeadlineExceededError, and a peer whose
process is gone fails it at once with UnavailableError. What TensorFlow does
next is wrong for MultiWorkerMirroredStrategy: MonitoredSession takes both
Unavailable and Aborted for a preempted parameter server and builds a new
session, forever, while the collective executor says that only a restart of
the program recovers. `no_session_recovery` lets those errors through, and
`worker_lost_message` names the task that is gone.
"""

import contextlib
import hashlib
import json
import re
import socket

from tensorflow.python.training import monitored_session


class WorkerLostError(RuntimeError):
  """A worker of a --multi_worker job died, never started or stopped
  answering."""


def workers_from_tf_config(tf_config):
  """Number of workers (chief included) in a TF_CONFIG string.

  Raises:
    ValueError: if TF_CONFIG is missing or has no worker list.
  """
  if not tf_config:
    raise ValueError(
        "--multi_worker needs the TF_CONFIG environment variable, such as "
        '{"cluster": {"worker": ["host1:2222", "host2:2222"]}, '
        '"task": {"type": "worker", "index": 0}}.')
  try:
    config = json.loads(tf_config)
    cluster = config["cluster"]
    task = config["task"]
  except (ValueError, KeyError, TypeError) as e:
    raise ValueError("TF_CONFIG is not a JSON object with 'cluster' and "
                     "'task': %s" % e)
  workers = len(cluster.get("worker", ())) + len(cluster.get("chief", ()))
  if not workers or task.get("type") not in ("worker", "chief"):
    raise ValueError("TF_CONFIG must list workers and name this task as one "
                     "of them; got %s." % tf_config)
  return workers


def tf_config_is_chief(tf_config):
  """Whether this task is the chief: the "chief" task, or worker 0 when the
  cluster names no chief."""
  config = json.loads(tf_config)
  task = config["task"]
  if task["type"] == "chief":
    return True
  return ("chief" not in config["cluster"] and task["type"] == "worker" and
          int(task.get("index", 0)) == 0)


def job_id(tf_config):
  """One id for every worker of a job: a hash of its cluster.

      job_id('{"cluster": {"worker": ["a:1", "b:1"]}, "task": ...}')
      -> "cluster:9c1f..." (the same for task 0 and task 1)
  """
  cluster = json.loads(tf_config)["cluster"]
  digest = hashlib.sha1(json.dumps(cluster, sort_keys=True).encode("utf-8"))
  return "cluster:" + digest.hexdigest()[:16]


def peers(tf_config):
  """[(task name, "host:port")] of the other tasks of the cluster."""
  config = json.loads(tf_config)
  me = (config["task"]["type"], int(config["task"].get("index", 0)))
  out = []
  for task_type in sorted(config["cluster"]):
    for index, address in enumerate(config["cluster"][task_type]):
      if (task_type, index) != me:
        out.append(("/job:%s/task:%d" % (task_type, index), address))
  return out


def unreachable(tf_config, timeout=2.0):
  """[(task name, address)] of the peers that do not accept a connection."""
  out = []
  for task, address in peers(tf_config):
    host, _, port = address.rpartition(":")
    try:
      with socket.create_connection((host.strip("[]"), int(port)),
                                    timeout=timeout):
        pass
    except (OSError, ValueError):
      out.append((task, address))
  return out


def tasks_in_error(message):
  """Task names a TensorFlow error message mentions, in order, once each."""
  found = []
  for job, index in re.findall(r"/job:(\w+)/replica:\d+/task:(\d+)",
                               message):
    name = "/job:%s/task:%s" % (job, index)
    if name not in found:
      found.append(name)
  return found


def worker_lost_message(error, tf_config, timeout_secs, output_dir):
  """What the user is told when a step fails for want of a peer."""
  gone = unreachable(tf_config)
  if gone:
    who = ", ".join("%s (%s)" % pair for pair in gone)
    what = "%s does not answer: it died or never started" % who
  else:
    named = [t for t in tasks_in_error(str(error))
             if t in dict(peers(tf_config))]
    what = ("%s stopped answering" % ", ".join(named) if named
            else "a worker stopped answering")
  first_line = str(error).strip().splitlines()[0] if str(error).strip() else ""
  return (
      "Lost a worker of this --multi_worker job: %s (%s: %s; every step "
      "waits at most --worker_timeout_secs=%d). Start every worker again "
      "with the same command: training resumes from the last checkpoint in "
      "%s." % (what, type(error).__name__, first_line[:300], timeout_secs,
               output_dir))


@contextlib.contextmanager
def no_session_recovery():
  """MonitoredSession raises Unavailable and Aborted errors instead of
  building a new session (see the module doc)."""
  saved = monitored_session._PREEMPTION_ERRORS  # pylint: disable=protected-access
  monitored_session._PREEMPTION_ERRORS = ()  # pylint: disable=protected-access
  try:
    yield
  finally:
    monitored_session._PREEMPTION_ERRORS = saved  # pylint: disable=protected-access
