# coding=utf-8
r"""Links mentions to concepts of a dictionary and scores the linking.

    python run_linker.py --do_eval --do_predict \
      --dictionary=DATA/ncbi_disease_linking/test_dictionary.txt \
      --data_dir=DATA/ncbi_disease_linking --output_dir=OUT

Candidates are ranked by character n-gram TF-IDF over the dictionary's
names (bert_ner/linking); a composite mention's parts are each linked.
Mentions come in BioSyn's preprocessed layout (--data_dir holding
processed_dev/ and processed_test/ of .concept files). Each split asked
for gets OUT/<split>_results.txt (acc@1, acc@5 and the exact-match acc@1
beside them, BioSyn's rule: a composite mention is right when each of its
parts is) and OUT/<split>_predictions.jsonl (per mention, each part's
candidates), each written whole or not at all.
"""

import os
import time
import types

from absl import app
from absl import flags

from bert_ner import errors
from bert_ner import file_io
from bert_ner.linking import dictionary as dictionary_lib
from bert_ner.linking import linker as linker_lib
from bert_ner.linking import queries as queries_lib
from bert_ner.run import model_selection

FLAGS = flags.FLAGS
SPLIT_FOLDERS = {"dev": "processed_dev", "test": "processed_test"}
# What run() reads of its values, with the defaults of the flags.
DEFAULTS = {"dictionary": None, "data_dir": None, "output_dir": None,
            "do_eval": False, "do_predict": False, "num_candidates": 10}


def define_flags():
  """The command line's flags (defined only when run as a script, so that
  importing this module beside run_ner.py clashes with none of its flags)."""
  flags.DEFINE_list("dictionary", None,
                    "Dictionary files, comma-separated: id||name lines "
                    "(BioSyn, SapBERT; ids joined by |), MEDIC in DNorm's "
                    "layout, or CTD's CTD_diseases.tsv / CTD_chemicals.tsv.")
  flags.DEFINE_string("data_dir", None,
                      "BioSyn's preprocessed layout: processed_dev/ and "
                      "processed_test/ of PMID.concept files (a split no "
                      "--do_ flag needs may be absent).")
  flags.DEFINE_string("output_dir", None,
                      "Where <split>_results.txt and "
                      "<split>_predictions.jsonl go.")
  flags.DEFINE_bool("do_eval", False, "Link and score the dev mentions.")
  flags.DEFINE_bool("do_predict", False, "Link and score the test mentions.")
  flags.DEFINE_integer("num_candidates", 10,
                       "Candidates kept per mention (part), at least 5.")
  flags.DEFINE_bool("verbose", False, "Show the Python trace of an error.")


def values_of(**given):
  """run()'s values: DEFAULTS with `given` (for code and tests)."""
  unknown = set(given) - set(DEFAULTS)
  if unknown:
    raise TypeError("run_linker has no %s." % ", ".join(sorted(unknown)))
  return types.SimpleNamespace(**dict(DEFAULTS, **given))


def check_flags(values):
  """One line per mistake, before any slow work."""
  if not (values.do_eval or values.do_predict):
    raise ValueError("Give --do_eval and/or --do_predict.")
  for name in ("dictionary", "data_dir", "output_dir"):
    if not getattr(values, name):
      raise ValueError("--%s is required." % name)
  if values.num_candidates < 5:
    raise ValueError("--num_candidates must be 5 or more (acc@5 is "
                     "reported), got %d." % values.num_candidates)


def splits_of(values):
  """{split: folder} of the splits asked for, each checked."""
  wanted = [s for s, on in (("dev", values.do_eval),
                            ("test", values.do_predict)) if on]
  out = {}
  for split in wanted:
    folder = os.path.join(values.data_dir, SPLIT_FOLDERS[split])
    if not os.path.isdir(folder):
      raise ValueError("--data_dir %s has no %s/ (the %s split, for --%s)." %
                       (values.data_dir, SPLIT_FOLDERS[split], split,
                        "do_eval" if split == "dev" else "do_predict"))
    out[split] = folder
  return out


def run(values, log=print):
  """Links and scores each split asked for; returns {split: results}."""
  check_flags(values)
  folders = splits_of(values)
  split_queries = {s: queries_lib.read_biosyn_split(f)
                   for s, f in folders.items()}
  start = time.time()
  linker = linker_lib.Linker(dictionary_lib.read(values.dictionary))
  log("Dictionary: %d names of %d concepts, indexed in %.1f s" % (
      len(linker.dictionary), linker.dictionary.concepts(),
      time.time() - start))
  os.makedirs(values.output_dir, exist_ok=True)
  out = {}
  for split, queries in split_queries.items():
    start = time.time()
    results, lines = linker_lib.score_queries(linker, queries,
                                              values.num_candidates)
    results["seconds"] = round(time.time() - start, 1)
    prefix = os.path.join(values.output_dir, split)
    file_io.atomic_write_text(prefix + "_predictions.jsonl", "".join(lines))
    model_selection.write_results(prefix + "_results.txt", results)
    log("%s: %d mentions (%d composite): acc@1 %.2f acc@5 %.2f (exact "
        "match acc@1 %.2f)" % (split, results["queries"],
                               results["composite"], results["acc1"],
                               results["acc5"], results["exact_acc1"]))
    out[split] = results
  return out


def main(argv):
  del argv
  values = values_of(**{name: FLAGS[name].value for name in DEFAULTS})
  return errors.run("run_linker.py", lambda: run(values) and 0)


if __name__ == "__main__":
  os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
  define_flags()
  app.run(main)
