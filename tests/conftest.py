"""pytest's hooks and the fixtures the tests share (helpers are in
helpers.py): tiny models, MiniLM in Google's layout."""

import fcntl
import json
import os
import shutil
import warnings

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
# matplotlib's own use of pyparsing's old names, at import: not ours.
warnings.filterwarnings("ignore", message=r"'\w+' deprecated - use ")

import pytest  # pylint: disable=g-import-not-at-top
import tensorflow.compat.v1 as tf  # pylint: disable=g-import-not-at-top

import helpers  # pylint: disable=g-import-not-at-top
from helpers import TINY_CONFIG, TINY_VOCAB, minilm_dir  # pylint: disable=g-import-not-at-top
from bert_ner.model import checkpoint_conversion
import modeling  # pylint: disable=g-import-not-at-top,wrong-import-position
import run_ner  # pylint: disable=g-import-not-at-top,wrong-import-position


def pytest_configure(config):
  config.addinivalue_line(
      "markers", "slow: whole estimator runs and subprocess jobs (seconds "
      "each); `pytest -m 'not slow'` leaves them out for a quick loop.")


@pytest.fixture
def tiny_vocab_file(tmp_path):
  path = tmp_path / "vocab.txt"
  path.write_text("\n".join(TINY_VOCAB) + "\n", encoding="utf-8")
  return str(path)


@pytest.fixture(scope="session")
def minilm_tf_dir(tmp_path_factory):
  """MiniLM converted once per session into Google's layout."""
  hf_dir = minilm_dir()
  out = str(tmp_path_factory.mktemp("minilm_tf"))
  checkpoint_conversion.convert_hf_to_tf(hf_dir, out)
  return out


@pytest.fixture(scope="session")
def tiny_model_dir(tmp_path_factory):
  """A random tiny BERT in Google's layout."""
  folder = tmp_path_factory.mktemp("tiny_bert")
  (folder / "vocab.txt").write_text("\n".join(TINY_VOCAB) + "\n")
  config = modeling.BertConfig.from_json_file(TINY_CONFIG)
  (folder / "bert_config.json").write_text(config.to_json_string())
  with tf.Graph().as_default():
    tf.set_random_seed(0)
    modeling.BertModel(config, False, tf.zeros([1, 4], tf.int32))
    with tf.Session() as sess:
      sess.run(tf.global_variables_initializer())
      tf.train.Saver().save(sess, str(folder / "bert_model.ckpt"),
                            write_state=False)
  return str(folder)


@pytest.fixture
def data_dir(tmp_path):
  """The tiny corpus (helpers.TRAIN for train and dev, helpers.TEST)."""
  return helpers.write_tiny_corpus(str(tmp_path / "data"))


class TrainedRuns(object):
  """Tiny models trained once a session on the tiny corpus, one per head,
  each with its export: for the tests that only use a trained model.

  A run: 30 epochs at 2e-3 (a model that tags entities), windows of 8
  pieces with a stride of 3, dev scored at the end, test predicted.
  `copy` gives a test its own copy (output folder, export, data folder), to
  run and write in.
  """

  def __init__(self, root, model_dir):
    self.root = root
    self.model_dir = model_dir
    os.makedirs(root, exist_ok=True)

  def get(self, head="softmax"):
    """(output folder, export, data folder, results) of the run of a head,
    trained on first use by whichever test process comes first (the
    others wait for it on a lock)."""
    folder = os.path.join(self.root, head)
    done = os.path.join(folder, "results.json")
    with open(os.path.join(self.root, head + ".lock"), "w") as lock:
      fcntl.flock(lock, fcntl.LOCK_EX)
      if not os.path.exists(done):
        if os.path.exists(folder):
          shutil.rmtree(folder)  # what a killed session left
        self.train(folder, head, done)
    with open(done) as f:
      results = json.load(f)
    return (os.path.join(folder, "out"), os.path.join(folder, "export"),
            os.path.join(folder, "data"), results)

  def train(self, folder, head, done):
    data = helpers.write_tiny_corpus(os.path.join(folder, "data"))
    results = run_ner.run(run_ner.validate_flags_or_throw(
        helpers.tiny_values(self.model_dir, data, os.path.join(folder, "out"),
                            head=head, num_train_epochs=30.0,
                            learning_rate=2e-3, save_checkpoints_steps=1000,
                            export_dir=os.path.join(folder, "export"))))
    with open(done + ".tmp", "w") as f:
      json.dump(results, f)
    os.rename(done + ".tmp", done)

  def copy(self, tmp_path, head="softmax"):
    """A copy of the run of a head in tmp_path: (out, export, data)."""
    out, export, data, _ = self.get(head)
    copies = []
    for source, name in ((out, "out"), (export, "export"), (data, "data")):
      copies.append(str(tmp_path / name))
      shutil.copytree(source, copies[-1])
    return tuple(copies)


@pytest.fixture(scope="session")
def trained_runs(tmp_path_factory, tiny_model_dir):
  """TrainedRuns, one for the whole test run: with pytest-xdist, in the
  folder its worker processes share."""
  base = tmp_path_factory.getbasetemp()
  if os.environ.get("PYTEST_XDIST_WORKER"):
    base = base.parent
  return TrainedRuns(str(base / "trained_runs"), tiny_model_dir)
