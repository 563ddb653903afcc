"""The training curves of a run's folder: training loss and dev entity F1
against steps, as a PNG (the command line is plot_training.py at the top
level).

The loss is read from the TensorBoard events in the folder, the dev
entity-level scores from its eval_history.txt (written by run_ner.py
--do_train --do_eval).
"""

import os

from matplotlib import figure
import tensorflow.compat.v1 as tf

from bert_ner import file_io
from bert_ner.run import model_selection


def read_loss(output_dir):
  """(steps, losses) of the training loss summaries, sorted by step."""
  points = {}
  for path in tf.io.gfile.glob(os.path.join(output_dir, "events.out.tfevents.*")):
    for event in tf.train.summary_iterator(path):
      for value in event.summary.value:
        if value.tag == "loss":
          points[event.step] = value.simple_value
  steps = sorted(points)
  return steps, [points[s] for s in steps]


def read_history(output_dir):
  """(steps, dev F1s) from eval_history.txt; empty lists if absent."""
  rows = model_selection.read_eval_history(output_dir)
  return [r["step"] for r in rows], [r["dev_f1"] for r in rows]


def plot(output_dir, out_path=None):
  """Writes the PNG; returns its path."""
  out_path = out_path or os.path.join(output_dir, "training_curves.png")
  loss_steps, losses = read_loss(output_dir)
  f1_steps, f1s = read_history(output_dir)
  fig = figure.Figure(figsize=(7, 4), dpi=100)
  loss_axis = fig.subplots()
  loss_axis.plot(loss_steps, losses, color="tab:blue", label="training loss")
  loss_axis.set_xlabel("step")
  loss_axis.set_ylabel("training loss", color="tab:blue")
  f1_axis = loss_axis.twinx()
  f1_axis.plot(f1_steps, f1s, "o-", color="tab:red",
               label="dev entity F1 (conlleval)")
  f1_axis.set_ylabel("dev entity F1 (%)", color="tab:red")
  if f1s:
    best = f1s.index(max(f1s))
    f1_axis.annotate("best %.2f" % f1s[best], (f1_steps[best], f1s[best]),
                     textcoords="offset points", xytext=(0, 8), ha="center")
  loss_axis.set_title(os.path.basename(os.path.normpath(output_dir)))
  fig.tight_layout()
  with file_io.atomic_path(out_path) as tmp:
    with tf.io.gfile.GFile(tmp, "wb") as f:
      fig.savefig(f, format="png")
  return out_path
