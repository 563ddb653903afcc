import json
import socket

import pytest
import tensorflow.compat.v1 as tf
from tensorflow.python.training import monitored_session

from bert_ner.run import cluster


def tf_config(workers, index, chief=None):
  spec = {"worker": workers}
  if chief:
    spec["chief"] = chief
  return json.dumps({"cluster": spec,
                     "task": {"type": "worker", "index": index}})


def test_multi_worker_needs_tf_config():
  with pytest.raises(ValueError, match="needs the TF_CONFIG"):
    cluster.workers_from_tf_config(None)
  with pytest.raises(ValueError, match="not a JSON object"):
    cluster.workers_from_tf_config("{")
  assert cluster.workers_from_tf_config(
      tf_config(["b:1", "c:1"], 1, chief=["a:1"])) == 3
  assert cluster.tf_config_is_chief(tf_config(["a:1", "b:1"], 0))
  assert not cluster.tf_config_is_chief(tf_config(["a:1", "b:1"], 1))
  assert not cluster.tf_config_is_chief(tf_config(["b:1"], 0, chief=["a:1"]))


def test_job_id_is_the_clusters():
  workers = ["10.0.0.1:2222", "10.0.0.2:2222"]
  assert cluster.job_id(tf_config(workers, 0)) == cluster.job_id(
      tf_config(workers, 1))
  assert cluster.job_id(tf_config(workers, 0)) != cluster.job_id(
      tf_config(workers + ["10.0.0.3:2222"], 0))
  assert cluster.job_id(tf_config(workers, 0)).startswith("cluster:")


def test_peers_and_the_ones_that_do_not_answer():
  with socket.socket() as listening, socket.socket() as closed:
    listening.bind(("127.0.0.1", 0))
    listening.listen(1)
    closed.bind(("127.0.0.1", 0))  # Bound, not listening: refuses.
    up = "127.0.0.1:%d" % listening.getsockname()[1]
    down = "127.0.0.1:%d" % closed.getsockname()[1]
    config = tf_config(["127.0.0.1:1", up, down], 0)
    assert cluster.peers(config) == [("/job:worker/task:1", up),
                                     ("/job:worker/task:2", down)]
    assert cluster.unreachable(config) == [("/job:worker/task:2", down)]
    message = cluster.worker_lost_message(
        tf.errors.UnavailableError(None, None, "Socket closed\nmore"),
        config, 42, "/runs/out")
  assert "/job:worker/task:2 (%s) does not answer" % down in message
  assert "task:1" not in message
  assert "UnavailableError: Socket closed;" in message
  assert "--worker_timeout_secs=42" in message
  assert "last checkpoint in /runs/out" in message


def test_lost_worker_named_from_the_error_when_all_ports_answer():
  with socket.socket() as listening:
    listening.bind(("127.0.0.1", 0))
    listening.listen(1)
    up = "127.0.0.1:%d" % listening.getsockname()[1]
    message = cluster.worker_lost_message(
        tf.errors.DeadlineExceededError(
            None, None, "Collective ops is aborted by: from remote target "
            "/job:worker/replica:0/task:1 and /job:worker/replica:0/task:1"),
        tf_config(["127.0.0.1:1", up], 0), 5, "out")
  assert "/job:worker/task:1 stopped answering" in message
  assert cluster.tasks_in_error(
      "a /job:worker/replica:0/task:3 b /job:chief/replica:0/task:0 "
      "/job:worker/replica:0/task:3") == ["/job:worker/task:3",
                                          "/job:chief/task:0"]


def test_no_session_recovery_is_scoped():
  saved = monitored_session._PREEMPTION_ERRORS  # pylint: disable=protected-access
  assert tf.errors.UnavailableError in saved
  with pytest.raises(RuntimeError):
    with cluster.no_session_recovery():
      assert monitored_session._PREEMPTION_ERRORS == ()  # pylint: disable=protected-access
      raise RuntimeError("boom")
  assert monitored_session._PREEMPTION_ERRORS == saved  # pylint: disable=protected-access


def test_tpu_address_must_be_host_and_port():
  with pytest.raises(ValueError, match="not grpc://HOST:PORT"):
    cluster.check_tpu_reachable("grpc://no-port")


def test_a_tpu_vms_own_tpu_needs_no_network(monkeypatch):
  """--tpu_name=local resolves nothing and opens no connection (the master
  is the VM's own, ""); any other name is resolved and connected to."""
  calls = []

  def connect(address, timeout=None):
    calls.append(address)
    raise OSError("refused")

  monkeypatch.setattr(cluster.socket, "create_connection", connect)
  assert cluster.check_tpu_reachable(cluster.LOCAL_TPU) == ""
  assert calls == []
  with pytest.raises(ValueError, match="Cannot reach TPU"):
    cluster.check_tpu_reachable("grpc://127.0.0.1:8470")
  assert calls == [("127.0.0.1", 8470)]
