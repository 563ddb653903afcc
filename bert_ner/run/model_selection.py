"""Model selection: dev scored while training, the best checkpoint kept in
OUTPUT_DIR/best, early stopping, and the results files."""

import os

import tensorflow.compat.v1 as tf

from bert_ner import file_io


BEST_DIR_NAME = "best"
BEST_RESULTS_NAME = "best_results.txt"


class ModelSelector(object):
  """Keeps the best dev entity F1 seen, and counts evaluations since.

  Ties keep the earlier checkpoint.
  """

  def __init__(self, patience=0, best_f1=None, best_step=None):
    self.patience = patience
    self.best_f1 = best_f1
    self.best_step = best_step
    self.since_best = 0
    self.history = []

  def update(self, step, results):
    """Records an evaluation (its results dict: entity_f1 and the rest);
    returns True if it is the new best."""
    self.history.append((step, results))
    if self.best_f1 is None or results["entity_f1"] > self.best_f1:
      self.best_f1, self.best_step = results["entity_f1"], step
      self.since_best = 0
      return True
    self.since_best += 1
    return False

  def should_stop(self):
    return bool(self.patience) and self.since_best >= self.patience

  def has_step(self, step):
    return any(s == step for s, _ in self.history)

  @classmethod
  def resumed(cls, output_dir, patience=0):
    """A selector that starts from what a previous run of this output
    folder kept: its best (a resumed training keeps its best) and its rows
    of eval_history.txt (the evaluations since the best count toward
    early stopping)."""
    previous = read_results_file(os.path.join(output_dir, BEST_DIR_NAME,
                                              BEST_RESULTS_NAME))
    selector = (cls(patience, float(previous["entity_f1"]),
                    int(previous["global_step"])) if previous else
                cls(patience))
    for row in read_eval_history(output_dir):
      selector.history.append((row["step"], {
          "entity_precision": row["dev_precision"],
          "entity_recall": row["dev_recall"], "entity_f1": row["dev_f1"],
          "token_accuracy": row["token_accuracy"]}))
    if selector.best_step is not None:
      selector.since_best = sum(1 for step, _ in selector.history
                                if step > selector.best_step)
    return selector


def eval_interval(settings, num_train_windows):
  """Steps between dev scores: --eval_every_steps, else --eval_every_epochs
  in steps (an epoch: the training windows over the batch size), else
  --save_checkpoints_steps."""
  if settings.eval_every_steps:
    return settings.eval_every_steps
  if settings.eval_every_epochs:
    return max(1, int(round(settings.eval_every_epochs * num_train_windows /
                            settings.train_batch_size)))
  return settings.save_checkpoints_steps


def keep_best(output_dir, checkpoint, step, results, epoch=None):
  """Copies a checkpoint into OUTPUT_DIR/best with its dev results (as
  eval_results.txt spells them) and its epoch, replacing the previous
  best."""
  best_dir = os.path.join(output_dir, BEST_DIR_NAME)
  if tf.io.gfile.exists(best_dir):
    tf.io.gfile.rmtree(best_dir)
  tf.io.gfile.makedirs(best_dir)
  for name in tf.io.gfile.glob(checkpoint + ".*"):
    if name.endswith(".meta"):
      continue
    tf.io.gfile.copy(name, os.path.join(best_dir, os.path.basename(name)))
  tf.train.update_checkpoint_state(
      best_dir, os.path.join(best_dir, os.path.basename(checkpoint)))
  results = dict(results, global_step=step)
  if epoch is not None:
    results["epoch"] = round(epoch, 2)
  write_results(os.path.join(best_dir, BEST_RESULTS_NAME), results)


def best_checkpoint(output_dir):
  """The checkpoint kept in OUTPUT_DIR/best, or None."""
  return tf.train.latest_checkpoint(os.path.join(output_dir, BEST_DIR_NAME))


def results_path(output_dir, split_name):
  """eval_results.txt for dev (BERT's name), <split>_results.txt else."""
  return os.path.join(output_dir, "eval_results.txt" if split_name == "dev"
                      else "%s_results.txt" % split_name)


def read_results_file(path):
  """Reads `key = value` lines into a dict; {} if the file is absent."""
  if not tf.io.gfile.exists(path):
    return {}
  out = {}
  with tf.io.gfile.GFile(path) as f:
    for line in f:
      if " = " in line:
        key, value = line.rstrip("\n").split(" = ", 1)
        out[key] = value
  return out


def write_results(path, results):
  """BERT's `key = value` lines, sorted, written whole."""
  lines = "".join("%s = %s\n" % (k, results[k]) for k in sorted(results))
  file_io.atomic_write_text(path, lines)


def entity_results(figures, strict=None):
  """conlleval figures as flat result keys (percent, rounded as printed):
  entity_precision, entity_recall, entity_f1, per type
  entity_<type>_<figure>, token_accuracy and the entity counts; with the
  strict IOB2 figures, the same keys prefixed "strict_"."""
  out = _chunk_results(figures, "")
  out["token_accuracy"] = round(figures["accuracy"], 2)
  if strict is not None:
    out.update(_chunk_results(strict, "strict_"))
  return out


def _chunk_results(figures, prefix):
  out = {
      prefix + "entity_precision": round(figures["precision"], 2),
      prefix + "entity_recall": round(figures["recall"], 2),
      prefix + "entity_f1": round(figures["f1"], 2),
      prefix + "gold_entities": figures["gold_phrases"],
      prefix + "found_entities": figures["found_phrases"],
      prefix + "correct_entities": figures["correct_phrases"],
  }
  for type_, t in figures["per_type"].items():
    if not type_:
      continue  # untyped tags (B, I): the overall figures are theirs
    for key in ("precision", "recall", "f1"):
      out["%sentity_%s_%s" % (prefix, type_, key)] = round(t[key], 2)
  return out


EVAL_HISTORY_NAME = "eval_history.txt"


EVAL_HISTORY_COLUMNS = ("step", "dev_precision", "dev_recall", "dev_f1",
                        "token_accuracy")


def write_eval_history(folder, rows, best_step):
  """eval_history.txt: a table of the dev scores during training, one row
  per evaluation (step and entity-level results), `*` on the best."""
  lines = [" ".join("%14s" % c for c in EVAL_HISTORY_COLUMNS)]
  for step, r in rows:
    lines.append("%14d %14.2f %14.2f %14.2f %14.2f%s" % (
        step, r["entity_precision"], r["entity_recall"], r["entity_f1"],
        r.get("token_accuracy", 0.0), "  *" if step == best_step else ""))
  text = "\n".join(lines) + "\n"
  file_io.atomic_write_text(os.path.join(folder, EVAL_HISTORY_NAME), text)
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
