"""One way to combine the scores of a run's corpora, each scored on its own
types in its folder (corpus_list.Corpus.folder).

The one corpus of the file flags is its own result: `combine` returns its
results dict unchanged. Across corpora (--corpora), the combined results,
written to OUTPUT_DIR/test_results.txt (eval_results.txt for dev) and, for
the best checkpoint, OUTPUT_DIR/best/best_results.txt, hold in BERT's
`key = value` lines:

  <corpus>_entity_precision, _recall, _f1       each corpus on its scope
  <corpus>_entity_<Type>_precision, _recall, _f1
  entity_precision, entity_recall, entity_f1    their mean over corpora
  strict_entity_f1, token_accuracy              the mean of theirs
  entity_<Type>_f1                              the mean over the corpora
                                                that annotate the type
  gold_entities, found_entities,                summed over the corpora
  correct_entities
  global_step, corpora

Every mean is of the corpora's rounded figures, rounded. The best
checkpoint is the one of the best combined dev entity_f1.
"""

import collections

from bert_ner.run import model_selection

FIGURES = ("precision", "recall", "f1")
MEANS = ("entity_precision", "entity_recall", "entity_f1",
         "strict_entity_f1", "token_accuracy")
SUMS = ("gold_entities", "found_entities", "correct_entities")


def combine(named_results):
  """The results of a split over the run's corpora.

  Args:
    named_results: [(corpus name, its results dict)]: one unnamed corpus
      (None: the file flags), or the corpora of --corpora (those without
      gold have {} and are left out).

  Returns:
    The one corpus's results, or the combined results (see the module
    doc) with "by_corpus" ({name: results}, not written); {} when no
    corpus was scored.
  """
  if len(named_results) == 1 and named_results[0][0] is None:
    return named_results[0][1]
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
      type_, figure = _type_and_figure(key)
      if type_ and figure == "f1":
        by_type[type_].append(value)
    out["global_step"] = results.get("global_step")
  for key in MEANS:
    values = [r[key] for _, r in scored if key in r]
    if values:
      out[key] = _mean(values)
  for key in SUMS:
    out[key] = sum(r.get(key, 0) for _, r in scored)
  for type_, values in by_type.items():
    out["entity_%s_f1" % type_] = _mean(values)
  out["by_corpus"] = collections.OrderedDict(named_results)
  return out


def _type_and_figure(key):
  """("Disease", "f1") of entity_Disease_f1; ("", "f1") of entity_f1."""
  rest, _, figure = key[len("entity_"):].rpartition("_")
  return rest, figure


def _mean(values):
  return round(sum(values) / len(values), 2)


def report_lines(split_name, results):
  """The lines run_ner.py prints of a split's results: the entity-level
  figures of the one corpus, or of each corpus and their mean."""
  lines = []
  for name, corpus in results.get("by_corpus", {}).items():
    lines += report_lines("%s of %s (on its types)" % (split_name, name),
                          corpus)
  if "token_micro_f1" in results:
    lines.append("%s: entity-level (conlleval) precision %.2f recall %.2f "
                 "F1 %.2f; token-level micro F1 %.4f" % (
                     split_name, results["entity_precision"],
                     results["entity_recall"], results["entity_f1"],
                     results["token_micro_f1"]))
  elif "entity_f1" in results:
    lines.append("%s: the mean over corpora: entity-level precision %.2f "
                 "recall %.2f F1 %.2f" % (
                     split_name, results["entity_precision"],
                     results["entity_recall"], results["entity_f1"]))
  return lines


def write_combined(output_dir, split_name, results):
  """Writes combined results across corpora to OUTPUT_DIR
  (model_selection.results_path); the one corpus of the file flags wrote
  its own there already."""
  if "by_corpus" in results:
    model_selection.write_results(
        model_selection.results_path(output_dir, split_name), written(results))


def written(results):
  """What of the results goes into a results file."""
  return {k: v for k, v in results.items() if k != "by_corpus"}
