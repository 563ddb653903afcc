"""Where a job runs: the estimator's RunConfig for one device, a TPU,
several devices (MirroredStrategy) or several workers (MultiWorker, from
TF_CONFIG), the TPU's reachability, and lost workers.

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

import tensorflow.compat.v1 as tf
from tensorflow.core.protobuf import rewriter_config_pb2
from tensorflow.python.training import monitored_session

from bert_ner import errors
from bert_ner import machine


class WorkerLostError(errors.JobError):
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


# --tpu_name of a Cloud TPU VM's own TPU (TPUClusterResolver's name for it).
LOCAL_TPU = "local"


def check_tpu_reachable(tpu_name, zone=None, project=None, timeout=10.0):
  """Resolves the TPU and opens a connection to it, or fails with its name.

  Returns:
    the TPU's grpc master address.

  Raises:
    ValueError: naming the TPU and what went wrong, instead of a hang in
      the first session.
  """
  if tpu_name == LOCAL_TPU:
    return ""  # a TPU VM's own TPU: nothing to reach over the network
  master = tpu_name
  if not tpu_name.startswith("grpc://"):
    try:
      resolver = tf.distribute.cluster_resolver.TPUClusterResolver(
          tpu_name, zone=zone, project=project)
      master = resolver.master()
    except Exception as e:  # pylint: disable=broad-except
      raise ValueError(
          "Cannot resolve TPU %r (zone %s, project %s): %s. Check --tpu_name, "
          "--tpu_zone and --gcp_project, or give grpc://HOST:PORT." %
          (tpu_name, zone, project, e))
  address = master[len("grpc://"):] if master.startswith("grpc://") else master
  host, _, port = address.rpartition(":")
  if not host or not port.isdigit():
    raise ValueError("TPU %r resolved to %r, which is not grpc://HOST:PORT." %
                     (tpu_name, master))
  try:
    socket.create_connection((host, int(port)), timeout=timeout).close()
  except OSError as e:
    raise ValueError("Cannot reach TPU %r at %s: %s. Is the TPU running, and "
                     "reachable from this machine?" % (tpu_name, master, e))
  return master


def set_onednn_bfloat16(session_config):
  """Turns on oneDNN's automatic bfloat16 rewrite of the graph (matmuls,
  convolutions and their neighbours in bfloat16; on a CPU without native
  bfloat16 it does nothing)."""
  options = session_config.graph_options.rewrite_options
  options.auto_mixed_precision_onednn_bfloat16 = (
      rewriter_config_pb2.RewriterConfig.ON)


def make_estimator(settings, model_fn):
  """TPUEstimator (TPU, or one CPU/GPU), or an Estimator under a strategy."""
  session_config = tf.ConfigProto(
      intra_op_parallelism_threads=(settings.num_intra_threads or
                                    machine.available_cores()),
      inter_op_parallelism_threads=settings.num_inter_threads or 2,
      allow_soft_placement=True)
  if settings.num_workers:
    # A step that waits longer than this for a peer fails (see cluster.py).
    session_config.operation_timeout_in_ms = (
        settings.worker_timeout_secs * 1000)
  if settings.use_xla:
    session_config.graph_options.optimizer_options.global_jit_level = (
        tf.OptimizerOptions.ON_1)
  if settings.use_bf16 and not settings.use_tpu:
    set_onednn_bfloat16(session_config)
  if settings.mirrored_devices or settings.num_workers:
    return make_mirrored_estimator(settings, model_fn, session_config)
  tpu_cluster_resolver = None
  if settings.use_tpu and settings.tpu_name:
    tpu_cluster_resolver = tf.distribute.cluster_resolver.TPUClusterResolver(
        settings.tpu_name, zone=settings.tpu_zone,
        project=settings.gcp_project)
  run_config = tf.estimator.tpu.RunConfig(
      cluster=tpu_cluster_resolver,
      master=settings.master,
      tpu_config=tf.estimator.tpu.TPUConfig(
          # Off TPU there are no loops; 1 keeps TPUEstimator's loss and
          # speed logging at every log_step_count_steps steps.
          iterations_per_loop=(settings.iterations_per_loop
                               if settings.use_tpu else 1),
          num_shards=settings.num_tpu_cores,
          per_host_input_for_training=(
              tf.estimator.tpu.InputPipelineConfig.PER_HOST_V2)),
      **run_config_args(settings, session_config))
  return tf.estimator.tpu.TPUEstimator(
      use_tpu=settings.use_tpu,
      model_fn=model_fn,
      config=run_config,
      export_to_tpu=False,
      train_batch_size=settings.train_batch_size,
      eval_batch_size=settings.eval_batch_size,
      predict_batch_size=settings.predict_batch_size)


def run_config_args(settings, session_config):
  """What every RunConfig of the job shares: the folder, checkpoints,
  seed, logging and session."""
  return dict(model_dir=settings.output_dir,
              save_checkpoints_steps=settings.save_checkpoints_steps,
              keep_checkpoint_max=settings.keep_checkpoint_max,
              tf_random_seed=settings.seed,
              log_step_count_steps=settings.log_step_count_steps,
              session_config=session_config)


def make_mirrored_estimator(settings, model_fn, session_config):
  """An Estimator that trains with MirroredStrategy over several devices, or
  MultiWorkerMirroredStrategy over the workers of TF_CONFIG.

  Each replica takes train_batch_size / replicas examples a step and applies
  the mean gradient, so the global batch and the learning-rate schedule are
  those of one device with train_batch_size. Eval and predict run on one
  device.
  """
  if settings.num_workers:
    strategy = tf.distribute.experimental.MultiWorkerMirroredStrategy()
  else:
    devices = list(settings.mirrored_devices)
    num_cpus = sum(1 for d in devices if "cpu" in d.lower())
    if num_cpus > 1:
      session_config.device_count["CPU"] = num_cpus
    strategy = tf.distribute.MirroredStrategy(devices)
  config = tf.estimator.RunConfig(
      train_distribute=strategy, **run_config_args(settings, session_config))

  def estimator_model_fn(features, labels, mode, params):
    return model_fn(features, labels, mode, params).as_estimator_spec()

  return tf.estimator.Estimator(model_fn=estimator_model_fn, config=config)
