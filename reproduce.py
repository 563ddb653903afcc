# coding=utf-8
r"""BioBERT's NER protocol over several seeds, in one command.

    python reproduce.py --recipe=configs/biobert/ncbi_disease.flags \
      --seeds=3 --output_dir=output/reproduce/ncbi_disease \
      --bert_model_dir=BIOBERT_DIR --data_dir=NER_DIR/NCBI-disease

For each seed (--first_seed, --first_seed + 1, ...), three steps, each a
run_ner.py run with the recipe and the other flags given here:
  1. selection: train on the training file, score dev after every epoch,
     keep the best epoch (OUTPUT/seed_S/select);
  2. final: train on train + dev (run_ner.py --train_with_dev: each
     corpus's two files read together, in any format) for the chosen
     number of epochs (OUTPUT/seed_S/final);
  3. test, by the final run.
It resumes: a seed already in reproduce_results.tsv is not run again, a
selection already made is kept, and an interrupted run_ner.py run resumes
from its last checkpoint.

OUTPUT gets reproduce_results.tsv (one row per seed: chosen epoch, dev F1,
test P/R/F1 by conlleval, test F1 with strict IOB2 chunks),
reproduce_summary.txt (mean ± sample standard deviation over the seeds,
beside the figures the recipe cites in its "# cited test F1:" lines) and
reproduce_f1.png (test F1 per seed, with the cited figures as lines).
Each run's log is OUTPUT/seed_S/<step>.log.
"""

import argparse
import collections
import copy
import json
import math
import os
import re
import subprocess
import sys

from absl import flags
from matplotlib import figure

from bert_ner import errors
from bert_ner import file_io
from bert_ner.run import model_selection
import run_ner

ROOT = os.path.dirname(os.path.abspath(__file__))

RESULTS_NAME = "reproduce_results.tsv"
SUMMARY_NAME = "reproduce_summary.txt"
PLOT_NAME = "reproduce_f1.png"
PLAN_NAME = "reproduce_plan.json"
SELECTION_NAME = "selection.json"
COLUMNS = ("seed", "epoch", "dev_f1", "test_precision", "test_recall",
           "test_f1", "test_strict_f1")
# The figures summarized over seeds, and their names in the summary.
SUMMARIZED = (("test_precision", "test precision"),
              ("test_recall", "test recall"),
              ("test_f1", "test F1"),
              ("test_strict_f1", "test F1, strict IOB2"),
              ("dev_f1", "dev F1 (selection)"),
              ("epoch", "epochs chosen"))
# Flags each step sets itself (given here they would be overridden).
# --num_train_epochs is the selection run's limit; the final run trains for
# the epochs chosen.
STEP_FLAGS = ("seed", "output_dir", "do_train", "do_eval", "do_predict",
              "train_with_dev", "num_train_steps", "eval_every_epochs",
              "eval_every_steps")
CITED = re.compile(r"^#\s*cited test F1:\s*([0-9]+(?:\.[0-9]+)?)\s+(.*\S)\s*$")

Cited = collections.namedtuple("Cited", ["f1", "source"])


class ReproduceError(Exception):
  """A step failed or the inputs are wrong; the message says which."""


# ------------------------------------------------------------ the recipe

def cited_figures(recipe):
  """The recipe's "# cited test F1: 88.30 SOURCE" lines, as Cited."""
  out = []
  with open(recipe, encoding="utf-8") as f:
    for line in f:
      match = CITED.match(line.strip())
      if match:
        out.append(Cited(float(match.group(1)), match.group(2)))
  return out


def run_ner_flags(recipe, passthrough):
  """The run_ner.py flag values that the recipe and the other arguments
  give (parsed by run_ner.py's own definitions, so an unknown flag or a bad
  value fails here, before any run).

  Raises:
    ReproduceError: naming the flag.
  """
  for arg in passthrough:
    name = arg.lstrip("-").split("=", 1)[0]
    if name.startswith("no"):
      name = name[2:] if name[2:] in STEP_FLAGS else name
    if name in STEP_FLAGS:
      raise ReproduceError(
          "%s is set by reproduce.py for each step; leave it out." % arg)
  values = copy.deepcopy(run_ner.FLAGS)
  try:
    values(["run_ner.py", "--flagfile=" + recipe] + list(passthrough))
  except flags.Error as e:
    raise ReproduceError("%s (in --recipe %s or the arguments)" % (e, recipe))
  return values


# ------------------------------------------------------------ the steps

class Reproduction(object):
  """The seeds of one recipe in one output folder."""

  def __init__(self, recipe, passthrough, output_dir, seeds, first_seed,
               log=None):
    if seeds < 1:
      raise ReproduceError("--seeds must be positive, got %d." % seeds)
    if not os.path.exists(recipe):
      raise ReproduceError("--recipe %s does not exist." % recipe)
    self.recipe = recipe
    self.passthrough = list(passthrough)
    self.output_dir = output_dir
    self.seeds = list(range(first_seed, first_seed + seeds))
    self.log = log or (lambda line: print(line, file=sys.stderr, flush=True))
    self.values = run_ner_flags(recipe, self.passthrough)
    self.cited = cited_figures(recipe)
    os.makedirs(output_dir, exist_ok=True)
    self.check_plan()

  def check_plan(self):
    """Writes OUT/reproduce_plan.json, or checks that the runs already in
    the folder were made with the same recipe and arguments."""
    plan = {"recipe": os.path.abspath(self.recipe),
            "arguments": self.passthrough}
    path = os.path.join(self.output_dir, PLAN_NAME)
    previous = file_io.previous_plan(path, plan)
    if previous is not None:
      raise ReproduceError(
          "%s holds runs of another recipe or other arguments (%s: %s). "
          "Use a new --output_dir." % (self.output_dir, path,
                                       json.dumps(previous)))

  def run_ner(self, seed, step, flags):
    """Runs one run_ner.py step; its log goes to OUT/seed_S/<step>.log."""
    folder = os.path.join(self.output_dir, "seed_%d" % seed)
    os.makedirs(folder, exist_ok=True)
    out = os.path.join(folder, step)
    command = ([sys.executable, os.path.join(ROOT, "run_ner.py"),
                "--flagfile=" + self.recipe] + self.passthrough +
               ["--seed=%d" % seed, "--output_dir=" + out] + flags)
    log_path = os.path.join(folder, step + ".log")
    self.log("seed %d: %s run (log: %s)" % (seed, step, log_path))
    with open(log_path, "a", encoding="utf-8") as log_file:
      log_file.write("$ %s\n" % " ".join(command))
      log_file.flush()
      status = subprocess.call(command, stdout=log_file,
                               stderr=subprocess.STDOUT, cwd=os.getcwd())
    if status:
      with open(log_path, encoding="utf-8", errors="replace") as f:
        tail = f.read()[-1500:]
      raise ReproduceError("seed %d: the %s run failed (exit status %d); "
                           "see %s. Its end:\n%s" % (seed, step, status,
                                                     log_path, tail))
    return out

  def select(self, seed):
    """The selection run; returns {"epoch", "dev_f1", "step"}, kept in
    OUT/seed_S/selection.json so that it is made once."""
    path = os.path.join(self.output_dir, "seed_%d" % seed, SELECTION_NAME)
    if os.path.exists(path):
      with open(path, encoding="utf-8") as f:
        return json.load(f)
    out = self.run_ner(seed, "select", [
        "--do_train", "--do_eval", "--do_predict=false",
        "--eval_every_epochs=1", "--eval_every_steps=0",
        "--num_train_steps=0"])
    best = model_selection.read_results_file(os.path.join(
        out, model_selection.BEST_DIR_NAME, model_selection.BEST_RESULTS_NAME))
    if "epoch" not in best:
      raise ReproduceError("seed %d: the selection run in %s kept no best "
                           "epoch." % (seed, out))
    selection = {"epoch": max(1, int(round(float(best["epoch"])))),
                 "dev_f1": float(best["entity_f1"]),
                 "step": int(best["global_step"])}
    file_io.atomic_write_text(path, json.dumps(selection) + "\n")
    return selection

  def final(self, seed, epochs):
    """The final run on train + dev, then test; returns its results."""
    out = self.run_ner(seed, "final", [
        "--do_train", "--do_eval=false", "--do_predict", "--train_with_dev",
        "--num_train_epochs=%d" % epochs, "--num_train_steps=0",
        "--eval_every_epochs=0", "--eval_every_steps=0",
        "--early_stopping_evals=0"])
    results = model_selection.read_results_file(
        model_selection.results_path(out, "test"))
    if "entity_f1" not in results:
      raise ReproduceError("seed %d: the final run in %s wrote no test "
                           "scores (does the test file have gold tags?)." %
                           (seed, out))
    return results

  def run(self):
    """Runs the seeds not yet done; returns the rows of all seeds."""
    rows = {row["seed"]: row for row in read_results(self.output_dir)}
    for seed in self.seeds:
      if seed in rows:
        self.log("seed %d: done before (%s)" % (seed, RESULTS_NAME))
        continue
      selection = self.select(seed)
      self.log("seed %d: best dev F1 %.2f after %d epoch(s)" % (
          seed, selection["dev_f1"], selection["epoch"]))
      test = self.final(seed, selection["epoch"])
      rows[seed] = {
          "seed": seed, "epoch": selection["epoch"],
          "dev_f1": selection["dev_f1"],
          "test_precision": float(test["entity_precision"]),
          "test_recall": float(test["entity_recall"]),
          "test_f1": float(test["entity_f1"]),
          "test_strict_f1": float(test["strict_entity_f1"])}
      self.log("seed %d: test P %.2f R %.2f F1 %.2f" % (
          seed, rows[seed]["test_precision"], rows[seed]["test_recall"],
          rows[seed]["test_f1"]))
      write_results(self.output_dir, [rows[s] for s in sorted(rows)])
    done = [rows[s] for s in self.seeds]
    summary = summary_text(done, self.cited, self.recipe)
    file_io.atomic_write_text(os.path.join(self.output_dir, SUMMARY_NAME),
                              summary)
    plot(done, self.cited, os.path.join(self.output_dir, PLOT_NAME),
         os.path.basename(self.recipe))
    return done, summary


# ------------------------------------------------------ results, summary

def read_results(output_dir):
  """The rows of OUT/reproduce_results.tsv (none if absent)."""
  path = os.path.join(output_dir, RESULTS_NAME)
  if not os.path.exists(path):
    return []
  rows = []
  with open(path, encoding="utf-8") as f:
    header = f.readline().rstrip("\n").split("\t")
    for line in f:
      if line.strip():
        row = dict(zip(header, line.rstrip("\n").split("\t")))
        rows.append({k: (int(v) if k in ("seed", "epoch") else float(v))
                     for k, v in row.items()})
  return rows


def write_results(output_dir, rows):
  lines = ["\t".join(COLUMNS)]
  for row in rows:
    lines.append("\t".join(str(row[c]) if c in ("seed", "epoch") else
                           "%.2f" % row[c] for c in COLUMNS))
  file_io.atomic_write_text(os.path.join(output_dir, RESULTS_NAME),
                            "\n".join(lines) + "\n")


def mean_std(values):
  """Mean and sample standard deviation (n - 1); the deviation is None for
  a single value."""
  n = len(values)
  mean = sum(values) / n
  if n < 2:
    return mean, None
  return mean, math.sqrt(sum((v - mean) ** 2 for v in values) / (n - 1))


def summary_text(rows, cited, recipe):
  """The summary: mean ± sample std of each figure over the seeds, and the
  recipe's cited figures."""
  seeds = [r["seed"] for r in rows]
  lines = ["%s: %d seed(s) (%s); mean ± sample standard deviation" % (
      recipe, len(rows), ", ".join(str(s) for s in seeds))]
  for key, name in SUMMARIZED:
    mean, std = mean_std([r[key] for r in rows])
    lines.append("  %-22s %6.2f ± %s" % (name, mean,
                                          "n/a" if std is None else
                                          "%.2f" % std))
  if cited:
    mean = mean_std([r["test_f1"] for r in rows])[0]
    for c in cited:
      lines.append("  cited test F1 %6.2f (%s): %+.2f" % (c.f1, c.source,
                                                         mean - c.f1))
  else:
    lines.append("  (the recipe cites no test F1)")
  return "\n".join(lines) + "\n"


def plot(rows, cited, out_path, title):
  """Test F1 per seed, the mean, and each cited figure as a line."""
  seeds = [r["seed"] for r in rows]
  f1s = [r["test_f1"] for r in rows]
  fig = figure.Figure(figsize=(6, 4), dpi=100)
  axis = fig.subplots()
  axis.plot(seeds, f1s, "o", color="tab:red", label="test F1 (conlleval)")
  mean, std = mean_std(f1s)
  axis.axhline(mean, color="tab:red", linestyle=":",
               label="mean %.2f%s" % (mean, "" if std is None else
                                      " ± %.2f" % std))
  for c, color in zip(cited, ("tab:blue", "tab:green", "tab:purple")):
    axis.axhline(c.f1, color=color, linestyle="--",
                 label="cited %.2f (%s)" % (c.f1, c.source[:40]))
  axis.set_xticks(seeds)
  axis.set_xlabel("seed")
  axis.set_ylabel("test entity F1 (%)")
  axis.set_title(title)
  axis.legend(fontsize="small")
  fig.tight_layout()
  with file_io.atomic_path(out_path) as tmp:
    fig.savefig(tmp, format="png")
  return out_path


def parse_args(argv):
  parser = argparse.ArgumentParser(
      description="BioBERT's NER protocol (select the epoch on dev, retrain "
      "on train + dev, test) over several seeds. Arguments it does not know "
      "are run_ner.py flags, given to every run.",
      # No abbreviations: --seed (a run_ner.py flag this script sets) must
      # not be taken for --seeds.
      allow_abbrev=False)
  parser.add_argument("--recipe", required=True,
                      help="A run_ner.py flagfile, e.g. "
                      "configs/biobert/ncbi_disease.flags.")
  parser.add_argument("--seeds", type=int, default=3,
                      help="How many seeds (default 3).")
  parser.add_argument("--first_seed", type=int, default=1,
                      help="The first seed; the others follow (default 1).")
  parser.add_argument("--output_dir", required=True,
                      help="Where the runs and the results are written.")
  parser.add_argument("--verbose", action="store_true",
                      help="Show the Python trace of an error (as "
                      "BERT_NER_TRACE=1 does).")
  return parser.parse_known_args(argv)


def main(argv=None):
  args, passthrough = parse_args(sys.argv[1:] if argv is None else argv)
  return errors.run("reproduce.py", reproduce, args, passthrough)


def reproduce(args, passthrough):
  """Runs the reproduction of the parsed arguments; prints its summary."""
  try:
    reproduction = Reproduction(args.recipe, passthrough, args.output_dir,
                                args.seeds, args.first_seed)
    _, summary = reproduction.run()
  except ReproduceError as e:
    sys.stderr.write("reproduce.py: error: %s\n" % e)
    return 1
  sys.stdout.write(summary)
  return 0


if __name__ == "__main__":
  os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
  sys.exit(main())
