# coding=utf-8
r"""Plots training loss and dev entity F1 against steps, from a run's folder.

    python plot_training.py OUTPUT_DIR [--out OUTPUT_DIR/training_curves.png]

Reads the loss from the TensorBoard events in OUTPUT_DIR and the dev
entity-level scores from OUTPUT_DIR/eval_history.txt (written by
run_ner.py --do_train --do_eval).
"""

import argparse
import sys

from bert_ner import errors
from bert_ner.run import training_plot


def main(argv=None):
  parser = argparse.ArgumentParser(description=__doc__)
  parser.add_argument("output_dir")
  parser.add_argument("--out", default=None)
  args = parser.parse_args(argv)
  print(training_plot.plot(args.output_dir, args.out))
  return 0


if __name__ == "__main__":
  sys.exit(errors.run("plot_training.py", main))
