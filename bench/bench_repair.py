# coding=utf-8
r"""The effect of --repair_tags on trained runs' test scores.

    python bench/bench_repair.py --data_dir=../shared/data/ncbi_disease \
      output/reproduce/ncbi_minilm/seed_*/final

For each run folder (trained with --do_predict, so it holds
test_predictions.txt and test_results.txt), the model files are copied to
a scratch folder and the test file is predicted again with --repair_tags.
Prints, per run and on average: the I- tags of the plain (argmax)
predictions that break IOB2, and entity F1 by conlleval and by strict IOB2,
without and with the repair.
"""

import argparse
import glob
import json
import os
import shutil
import subprocess
import sys
import tempfile

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, ROOT)

# pylint: disable=g-import-not-at-top,wrong-import-position
import tensorflow.compat.v1 as tf

from bert_ner import model_settings
from bert_ner.run import model_selection
from bert_ner import label_set

# pylint: enable=g-import-not-at-top,wrong-import-position

MODEL_FILES = ("checkpoint", model_settings.BERT_CONFIG_NAME,
               model_settings.VOCAB_NAME, model_settings.LABEL_LIST_NAME,
               model_settings.TOKENIZER_CONFIG_NAME,
               model_settings.RUN_INFO_NAME)


def invalid_transitions(path):
  """I- tags (predicted, last column) that follow O, another type or a
  sentence start."""
  count, previous = 0, "O"
  with open(path, encoding="utf-8") as f:
    for line in f:
      fields = line.split()
      if not fields:
        previous = "O"
        continue
      tag = fields[-1]
      prefix, type_ = label_set.split_tag(tag)
      last_prefix, last_type = label_set.split_tag(previous)
      if prefix == "I" and (last_prefix not in ("B", "I") or
                            last_type != type_):
        count += 1
      previous = tag
  return count


def copy_model(run_dir, scratch):
  """The files a predict-only run needs: the checkpoint and the output
  folder's model files."""
  # The checkpoint the run predicted with: the best by dev F1 if it kept
  # one (run_ner.py's --predict_with=best), else the last.
  checkpoint = (model_selection.best_checkpoint(run_dir) or
                tf.train.latest_checkpoint(run_dir))
  if not checkpoint:
    raise SystemExit("%s holds no checkpoint." % run_dir)
  os.makedirs(scratch)
  for path in glob.glob(checkpoint + ".*"):
    if not path.endswith(".meta"):
      shutil.copy(path, scratch)
  for name in MODEL_FILES:
    if os.path.exists(os.path.join(run_dir, name)):
      shutil.copy(os.path.join(run_dir, name), scratch)
  with open(os.path.join(scratch, "checkpoint"), "w") as f:
    f.write('model_checkpoint_path: "%s"\n' % os.path.basename(checkpoint))


def scores(folder):
  results = model_selection.read_results_file(
      model_selection.results_path(folder, "test"))
  return {"f1": float(results["entity_f1"]),
          "strict_f1": float(results["strict_entity_f1"]),
          "invalid": invalid_transitions(
              os.path.join(folder, "test_predictions.txt"))}


def main():
  parser = argparse.ArgumentParser(description=__doc__)
  parser.add_argument("runs", nargs="+", help="run_ner.py output folders")
  parser.add_argument("--data_dir", required=True,
                      help="The data folder the runs were tested on.")
  args = parser.parse_args()
  rows = []
  for run_dir in args.runs:
    plain = scores(run_dir)
    with tempfile.TemporaryDirectory() as tmp:
      scratch = os.path.join(tmp, "run")
      copy_model(run_dir, scratch)
      # The run's own windows apply (its tokenizer_config.json).
      subprocess.run(
          [sys.executable, os.path.join(ROOT, "run_ner.py"), "--do_predict",
           "--repair_tags", "--data_dir=" + args.data_dir,
           "--output_dir=" + scratch],
          check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
      repaired = scores(scratch)
    rows.append({"run": run_dir, "plain": plain, "repaired": repaired})
    print("%-45s invalid I- %4d -> %d   F1 %.2f -> %.2f   strict F1 %.2f -> "
          "%.2f" % (run_dir, plain["invalid"], repaired["invalid"],
                    plain["f1"], repaired["f1"], plain["strict_f1"],
                    repaired["strict_f1"]), flush=True)
  n = len(rows)
  mean = lambda kind, key: sum(r[kind][key] for r in rows) / n
  print("mean over %d run(s): F1 %.2f -> %.2f (%+.2f), strict F1 %.2f -> %.2f "
        "(%+.2f)" % (n, mean("plain", "f1"), mean("repaired", "f1"),
                     mean("repaired", "f1") - mean("plain", "f1"),
                     mean("plain", "strict_f1"), mean("repaired", "strict_f1"),
                     mean("repaired", "strict_f1") - mean("plain",
                                                          "strict_f1")))
  print(json.dumps(rows))


if __name__ == "__main__":
  main()
