"""What the project's files agree on, in one place that defines no flags.

- The features of a window (the TFRecord schema), how batches pad them,
  and the predict mask: which positions a window predicts.
- The files of an output folder and of an export (labels, tokenizer
  settings, the dev-score history, the head's settings), each with its one
  writer and its one reader.
- Writing a file whole or not at all.

run_ner.py, predict_saved_model.py, tag_corpus.py and plot_training.py all
read these from here.
"""

import collections
import contextlib
import json
import os
import re

import numpy as np
import tensorflow.compat.v1 as tf

# ---------------------------------------------------------------- features

# word_ids value of a position that predicts no word ([CLS], [SEP], a
# continuing WordPiece, a word another window predicts, padding).
NO_WORD = -1

# The TFRecord schema, used both to write and to parse: name -> kind.
# "sequence" features have one value per position, "scalar" ones one per
# record. int64 on disk (all tf.Example holds); int32 for the model.
FEATURE_SPEC = collections.OrderedDict([
    ("input_ids", "sequence"),
    ("segment_ids", "sequence"),
    ("label_ids", "sequence"),
    ("label_weights", "sequence"),
    ("word_ids", "sequence"),
    ("example_index", "scalar"),
])
# Padding values in batches (0 for the rest); input_mask is derived: 1 on
# real positions.
PADDING_VALUES = {"word_ids": NO_WORD, "example_index": -1}

# The inputs of the exported SavedModel's serving signature, int32
# [batch, seq_length] each.
SERVING_INPUTS = ("input_ids", "input_mask", "segment_ids", "predict_mask")


def predict_mask(word_ids):
  """1 where a window predicts a word (the first WordPiece of a word it
  owns), else 0; of a Tensor or of a numpy array / list."""
  if isinstance(word_ids, (tf.Tensor, tf.Variable)):
    return tf.cast(word_ids >= 0, tf.int32)
  return (np.asarray(word_ids) >= 0).astype(np.int32)


def serving_arrays(windows):
  """One padded batch of the serving signature's inputs (numpy int32) from
  windows (objects with input_ids, segment_ids and word_ids), padded as
  the estimator's batches are."""
  length = max(len(w.input_ids) for w in windows)
  arrays = {name: np.zeros([len(windows), length], np.int32)
            for name in SERVING_INPUTS}
  for row, w in enumerate(windows):
    n = len(w.input_ids)
    arrays["input_ids"][row, :n] = w.input_ids
    arrays["input_mask"][row, :n] = 1
    arrays["segment_ids"][row, :n] = w.segment_ids
    arrays["predict_mask"][row, :n] = predict_mask(w.word_ids)
  return arrays


# ------------------------------------------------- writing files whole

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


# ------------------------------------------ the files of an output folder

LABEL_LIST_NAME = "label_list.txt"
TOKENIZER_CONFIG_NAME = "tokenizer_config.json"
EVAL_HISTORY_NAME = "eval_history.txt"
RUN_INFO_NAME = "ner_run.json"
# Settings that shape the trained model, saved with it for predict-only runs.
HEAD_SETTINGS = ("head", "feature_layers", "freeze_bert",
                 "crf_iob2_constraints", "context_sentences")


def write_tokenizer_config(folder, do_lower_case, max_seq_length,
                           window_stride):
  """tokenizer_config.json: how text was cut into windows for the model."""
  atomic_write_text(
      os.path.join(folder, TOKENIZER_CONFIG_NAME),
      json.dumps({"do_lower_case": bool(do_lower_case),
                  "max_seq_length": int(max_seq_length),
                  "window_stride": int(window_stride)}) + "\n")


def read_tokenizer_config(folder):
  """(do_lower_case, max_seq_length, window_stride) of a folder's
  tokenizer_config.json.

  Raises:
    ValueError: naming the file, if it is not such a JSON object.
  """
  path = os.path.join(folder, TOKENIZER_CONFIG_NAME)
  with tf.io.gfile.GFile(path) as f:
    try:
      config = json.load(f)
      return (bool(config["do_lower_case"]), int(config["max_seq_length"]),
              int(config["window_stride"]))
    except (ValueError, KeyError, TypeError) as e:
      raise ValueError("%s: expected JSON with do_lower_case, max_seq_length "
                       "and window_stride (%s)." % (path, e))


EVAL_HISTORY_COLUMNS = ("step", "dev_precision", "dev_recall", "dev_f1",
                        "token_accuracy")


def write_eval_history(folder, rows, best_step):
  """eval_history.txt: a table of the dev scores during training, one row
  per evaluation (step and conlleval figures), `*` on the best."""
  lines = [" ".join("%14s" % c for c in EVAL_HISTORY_COLUMNS)]
  for step, f in rows:
    lines.append("%14d %14.2f %14.2f %14.2f %14.2f%s" % (
        step, f["precision"], f["recall"], f["f1"], f["accuracy"],
        "  *" if step == best_step else ""))
  text = "\n".join(lines) + "\n"
  atomic_write_text(os.path.join(folder, EVAL_HISTORY_NAME), text)
  return text


def read_eval_history(folder):
  """The rows of eval_history.txt as dicts by column name (step an int,
  the rest floats, "best" a bool); [] if the file is absent."""
  path = os.path.join(folder, EVAL_HISTORY_NAME)
  if not tf.io.gfile.exists(path):
    return []
  with tf.io.gfile.GFile(path) as f:
    lines = f.read().splitlines()
  columns = lines[0].split()
  rows = []
  for line in lines[1:]:
    fields = line.split()
    row = {name: float(value) for name, value in zip(columns, fields)}
    row["step"] = int(row["step"])
    row["best"] = fields[-1] == "*"
    rows.append(row)
  return rows


def write_run_info(folder, settings):
  """ner_run.json: the head's settings (HEAD_SETTINGS) of a trained model."""
  atomic_write_text(
      os.path.join(folder, RUN_INFO_NAME),
      json.dumps({k: getattr(settings, k) for k in HEAD_SETTINGS},
                 indent=1) + "\n")


def read_run_info(folder):
  """The head's settings saved by training; {} if none were."""
  path = os.path.join(folder, RUN_INFO_NAME)
  if not tf.io.gfile.exists(path):
    return {}
  with tf.io.gfile.GFile(path) as f:
    return json.load(f)
