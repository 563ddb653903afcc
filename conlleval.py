# coding=utf-8
r"""Entity-level (chunk) evaluation with the rules of CoNLL's conlleval.pl.

    python conlleval.py [-d DELIM] [-o OTAG] [-r] [--strict] < FILE

FILE has one token per line, the gold tag second to last and the predicted
tag last; a blank line (or a first field of "-X-") separates sentences.
The report on stdout has conlleval.pl's layout:

    processed 24497 tokens with 960 phrases; found: 1113 phrases; correct: 935.
    accuracy:  99.27%; precision:  84.01%; recall:  97.40%; FB1:  90.21
              Disease: precision:  84.01%; recall:  97.40%; FB1:  90.21  1113

The rules (and `--strict`'s) are bert_ner/scoring/conlleval.py's.
"""

import argparse
import os
import sys

from bert_ner import errors
from bert_ner.scoring import conlleval


def main(argv=None):
  parser = argparse.ArgumentParser(
      description="Entity-level P/R/F1 with conlleval.pl's rules; reads "
      "'... gold predicted' lines from stdin.")
  parser.add_argument("-d", dest="delimiter", default=None,
                      help="field delimiter (default: spaces and tabs)")
  parser.add_argument("-o", dest="otag", default="O",
                      help="outside tag for -r (default: O)")
  parser.add_argument("-r", dest="raw", action="store_true",
                      help="raw tags: no B-/I- prefixes")
  parser.add_argument("--strict", action="store_true",
                      help="also report strict IOB2 entities (an I- tag "
                      "outside an entity of its type is no entity)")
  parser.add_argument("file", nargs="?", help="input file (default: stdin)")
  parser.add_argument("--verbose", action="store_true",
                      help="show the Python trace of an error")
  args = parser.parse_args(argv)
  if args.delimiter is not None:
    # As conlleval.pl's regex does, read "\t" as a tab.
    args.delimiter = args.delimiter.encode("utf-8").decode("unicode_escape")
  score = conlleval.evaluate_both if args.strict else conlleval.evaluate
  if args.file:
    if os.path.isdir(args.file):
      raise ValueError("%s is a folder: give the file of '... gold "
                       "predicted' lines." % args.file)
    if not os.path.exists(args.file):
      raise ValueError("%s does not exist." % args.file)
    with open(args.file, encoding="utf-8") as f:
      result = score(f, args.delimiter, args.raw, args.otag)
  else:
    result = score(sys.stdin, args.delimiter, args.raw, args.otag)
  if args.strict:
    result, strict = result
    sys.stdout.write(conlleval.report(result))
    sys.stdout.write("strict IOB2:\n" + conlleval.report(strict))
  else:
    sys.stdout.write(conlleval.report(result))
  return 0


if __name__ == "__main__":
  sys.exit(errors.run("conlleval.py", main))
