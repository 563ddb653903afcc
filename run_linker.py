# coding=utf-8
r"""Trains, scores and exports a linker of mentions to concepts.

    python run_linker.py --do_train --do_eval --do_predict \
      --dictionary=DATA/ncbi_disease_linking/train_dictionary.txt \
      --data_dir=DATA/ncbi_disease_linking --entity_types='*=Disease' \
      --output_dir=OUT --export_dir=OUT/linker

A name's score for a mention is a BERT encoder's cosine (the embedded
MiniLM unless a model flag names another; fine-tuned with --do_train on the
training mentions) plus --sparse_weight times its character n-gram TF-IDF
cosine; --nodense ranks by TF-IDF alone. Mentions come in BioSyn's
preprocessed layout (--data_dir holding processed_train/, processed_dev/
and processed_test/ of .concept files; a split no --do_ flag needs may be
absent). Each split scored gets OUT/<split>_results.txt (acc@1 and acc@5,
the sparse, dense and exact-match acc@1 beside them; BioSyn's rule: a
composite mention is right when each of its parts is) and
OUT/<split>_predictions.jsonl (per mention, each part's candidates), each
written whole or not at all. --export_dir writes the linker folder the
tagging doors load with --linker_dir.
"""

import os
import time
import types

from absl import app
from absl import flags
import tensorflow.compat.v1 as tf

from bert_ner import errors
from bert_ner import file_io
from bert_ner.linking import linker as linker_lib
from bert_ner.linking import linker_build
from bert_ner.run import model_files
from bert_ner.run import model_selection

FLAGS = flags.FLAGS
# What run() reads of its values, with the defaults of the flags.
DEFAULTS = dict(linker_build.DEFAULTS, num_candidates=10, export_dir=None,
                do_train=False, do_eval=False, do_predict=False)


def define_flags():
  """The command line's flags (defined only when run as a script, so that
  importing this module beside run_ner.py clashes with none of its flags)."""
  flags.DEFINE_list("dictionary", None,
                    "Dictionary files, comma-separated: id||name lines "
                    "(BioSyn, SapBERT; ids joined by |), MEDIC in DNorm's "
                    "layout, or CTD's CTD_diseases.tsv / CTD_chemicals.tsv.")
  flags.DEFINE_string("data_dir", None,
                      "BioSyn's preprocessed layout: processed_train/, "
                      "processed_dev/ and processed_test/ of PMID.concept "
                      "files (a split no --do_ flag needs may be absent).")
  flags.DEFINE_string("output_dir", None,
                      "Where the encoder's checkpoints, the dictionary's "
                      "vectors, <split>_results.txt and "
                      "<split>_predictions.jsonl go.")
  flags.DEFINE_string("export_dir", None,
                      "Where to write the linker folder the doors load "
                      "(--linker_dir).")
  flags.DEFINE_bool("do_train", False,
                    "Fine-tune the encoder on the training mentions.")
  flags.DEFINE_bool("do_eval", False, "Link and score the dev mentions.")
  flags.DEFINE_bool("do_predict", False, "Link and score the test mentions.")
  flags.DEFINE_bool("train_with_dev", False,
                    "With --do_train: the dev mentions train too (and join "
                    "the dictionary), as run_ner.py --train_with_dev; "
                    "excludes --do_eval.")
  flags.DEFINE_enum("input_format", linker_build.BIOSYN_FORMAT,
                    list(linker_build.INPUT_FORMATS),
                    "biosyn: BioSyn's preprocessed folders; pubtator, bioc: "
                    "the corpus as released, its train, dev and test files "
                    "found in --data_dir as run_ner.py finds them, the ids "
                    "in PubTator's sixth column or BioC's identifier infon.")
  flags.DEFINE_bool("abbreviations", True,
                    "With a released corpus: expand a mention's short forms "
                    "by the abbreviations its document defines "
                    "(\"Duchenne muscular dystrophy (DMD)\").")
  flags.DEFINE_bool("split_composites", True,
                    "With a released corpus: split a mention with several "
                    "ids (\"breast and ovarian cancer\") into its parts.")
  flags.DEFINE_string("entity_types", None,
                      "The mentions' types as run_ner.py reads them: TYPE or "
                      "TYPE=NEW, comma-separated; '*=Disease' makes every "
                      "type Disease. The linker links these (renamed) types "
                      "and the doors check them against the tagger's.")
  define_encoder_flags()


def define_encoder_flags():
  """The encoder's, its training's and the ranking's flags."""
  flags.DEFINE_bool("dense", True,
                    "Rank by the encoder's cosine and TF-IDF fused; "
                    "--nodense: by TF-IDF alone.")
  flags.DEFINE_bool("add_training_mentions", True,
                    "With --do_train: add each training mention to the "
                    "dictionary under its gold concept.")
  # The encoder starts from the model run_ner.py would train from.
  model_files.define_model_flags(flags)
  flags.DEFINE_integer("train_steps", None,
                       "Encoder training steps (default: 3 epochs of the "
                       "training mentions).")
  flags.DEFINE_integer("train_batch_size", 32,
                       "Training mentions per step (each with a name of its "
                       "concept and --num_negatives wrong ones).")
  flags.DEFINE_integer("num_negatives", 3,
                       "Wrong names per training mention, among its best "
                       "candidates before training.")
  flags.DEFINE_float("learning_rate", 2e-5, "Adam's peak learning rate.")
  flags.DEFINE_float("temperature", 0.05,
                     "Cosines are divided by it in the training loss.")
  flags.DEFINE_integer("max_name_length", 32,
                       "WordPiece tokens of a name or mention kept, [CLS] "
                       "and [SEP] included.")
  flags.DEFINE_integer("seed", 1, "The training batches' and model's seed.")
  flags.DEFINE_float("sparse_weight", linker_lib.DEFAULT_SPARSE_WEIGHT,
                     "The TF-IDF cosine's weight beside the dense one.")
  flags.DEFINE_float("nil_threshold", None,
                     "A mention whose best score is under it links to no "
                     "concept (NIL); default: every mention is linked.")
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
  if not (values.do_train or values.do_eval or values.do_predict or
          values.export_dir):
    raise ValueError("Give --do_train, --do_eval, --do_predict and/or "
                     "--export_dir.")
  for name in ("dictionary", "output_dir"):
    if not getattr(values, name):
      raise ValueError("--%s is required." % name)
  if not values.data_dir and (values.do_train or values.do_eval or
                              values.do_predict):
    raise ValueError("--do_train, --do_eval and --do_predict read the "
                     "mentions of --data_dir: give it.")
  if values.num_candidates < 5:
    raise ValueError("--num_candidates must be 5 or more (acc@5 is "
                     "reported), got %d." % values.num_candidates)
  if values.do_train and not values.dense:
    raise ValueError("--do_train trains the dense encoder: drop --nodense.")
  linker_build.check_values(values)


def run(values, log=print):
  """Builds the linker (training its encoder with --do_train), links and
  scores each split asked for, exports; returns {split: results}."""
  check_flags(values)
  build = linker_build.build(values, log)
  tf.io.gfile.makedirs(values.output_dir)
  out = {}
  for split, queries in build.scored.items():
    start = time.time()
    results, lines = linker_lib.score_queries(build.linker, queries,
                                              values.num_candidates)
    results["seconds"] = round(time.time() - start, 1)
    prefix = os.path.join(values.output_dir, split)
    file_io.atomic_write_text(prefix + "_predictions.jsonl", "".join(lines))
    model_selection.write_results(prefix + "_results.txt", results)
    log("%s: %d mentions (%d composite): acc@1 %.2f acc@5 %.2f (%s)" % (
        split, results["queries"], results["composite"], results["acc1"],
        results["acc5"], ", ".join(
            "%s %.2f" % (k[:-5], results[k]) for k in sorted(results)
            if k.endswith("_acc1"))))
    out[split] = results
  if values.export_dir:
    linker_build.export(build, values)
    log("Exported the linker to %s" % values.export_dir)
  return out


def main(argv):
  del argv
  values = values_of(**{name: FLAGS[name].value for name in DEFAULTS})
  return errors.run("run_linker.py", lambda: (run(values), 0)[1])


if __name__ == "__main__":
  os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
  define_flags()
  app.run(main)
