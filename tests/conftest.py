"""pytest's hooks and the fixtures the tests share (helpers are in
helpers.py): tiny models, MiniLM in Google's layout."""

import os

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import pytest  # pylint: disable=g-import-not-at-top
import tensorflow.compat.v1 as tf  # pylint: disable=g-import-not-at-top

from helpers import TINY_CONFIG, TINY_VOCAB, minilm_dir  # pylint: disable=g-import-not-at-top
from bert_ner.model import checkpoint_conversion
import modeling  # pylint: disable=g-import-not-at-top,wrong-import-position


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
