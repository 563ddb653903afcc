"""The scores of a run across corpora (--corpora): each corpus scored on
its own types, in OUTPUT_DIR/corpora/<name>/, and their summary.

OUTPUT_DIR/test_results.txt (eval_results.txt for dev) holds, in BERT's
`key = value` lines:

  <corpus>_entity_precision, _recall, _f1       each corpus on its scope
  <corpus>_entity_<Type>_precision, _recall, _f1
  entity_precision, entity_recall, entity_f1    their mean over corpora
  strict_entity_f1                              the mean of the strict F1
  entity_<Type>_f1                              the mean over the corpora
                                                that annotate the type
  global_step, corpora

The best checkpoint is the one of the best mean dev F1 (mean_figures).
"""

import collections

from bert_ner.run import model_selection

CORPORA_DIR_NAME = "corpora"
FIGURES = ("precision", "recall", "f1")


def mean_figures(named_figures):
  """The conlleval figures model selection keeps, for several corpora:
  precision, recall, f1 and accuracy the mean of theirs, the phrase counts
  summed, per_type each corpus's own figures (best_results.txt then says
  entity_<corpus>_f1).

  Args:
    named_figures: [(corpus name, conlleval figures)].
  """
  out = {key: sum(f[key] for _, f in named_figures) / len(named_figures)
         for key in FIGURES + ("accuracy",)}
  for key in ("gold_phrases", "found_phrases", "correct_phrases"):
    out[key] = sum(f[key] for _, f in named_figures)
  out["per_type"] = collections.OrderedDict(
      (name, {k: f[k] for k in FIGURES}) for name, f in named_figures)
  return out


def summary(named_results):
  """The summary results (see the module doc) of [(corpus name, its
  results dict)]; corpora without gold are left out."""
  scored = [(name, r) for name, r in named_results if r]
  if not scored:
    return {}
  out = {"corpora": " ".join(name for name, _ in scored)}
  by_type = collections.defaultdict(list)
  for name, results in scored:
    for key, value in results.items():
      if not key.startswith("entity_"):
        continue
      out["%s_%s" % (name, key)] = value
      figure = key.rsplit("_", 1)[-1]
      type_ = key[len("entity_"):-len(figure) - 1]
      if type_ and figure == "f1":
        by_type[type_].append(value)
    out["global_step"] = results.get("global_step")
  for figure in FIGURES:
    out["entity_" + figure] = _mean(r["entity_" + figure] for _, r in scored)
  out["strict_entity_f1"] = _mean(r.get("strict_entity_f1", 0.0)
                                  for _, r in scored)
  for type_, values in by_type.items():
    out["entity_%s_f1" % type_] = _mean(values)
  return out


def _mean(values):
  values = list(values)
  return round(sum(values) / len(values), 2)


def write_summary(output_dir, split_name, named_results):
  """Writes the summary of a split's corpora to OUTPUT_DIR (test_results.txt
  or eval_results.txt) and returns it, with each corpus's results under
  "by_corpus"."""
  results = summary(named_results)
  if results:
    model_selection.write_results(
        model_selection.results_path(output_dir, split_name), results)
  return dict(results, by_corpus=collections.OrderedDict(named_results))
