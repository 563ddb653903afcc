"""One combination of the corpora's results (run/corpus_scores.py)."""

from bert_ner.run import corpus_scores


def test_combined_results_by_hand():
  """corpus_scores.combine: the mean of each corpus's P, R and F1 (not the
  figures of the summed counts, which would give P 66.67 R 33.33 here),
  the summed counts, per type the mean over the corpora annotating it; the
  one corpus of the file flags is its own result."""
  a = {"entity_precision": 50.0, "entity_recall": 25.0, "entity_f1": 33.33,
       "entity_Disease_f1": 40.0, "entity_Disease_precision": 50.0,
       "strict_entity_f1": 30.0, "token_accuracy": 90.0, "gold_entities": 4,
       "found_entities": 2, "correct_entities": 1, "global_step": 7}
  b = {"entity_precision": 100.0, "entity_recall": 50.0, "entity_f1": 66.67,
       "entity_Disease_f1": 60.0, "entity_Gene_f1": 80.0,
       "strict_entity_f1": 60.0, "token_accuracy": 81.0, "gold_entities": 2,
       "found_entities": 1, "correct_entities": 1, "global_step": 7}
  combined = corpus_scores.combine([("a", a), ("b", b), ("c", {})])
  assert combined["corpora"] == "a b"
  assert (combined["entity_precision"], combined["entity_recall"],
          combined["entity_f1"], combined["strict_entity_f1"],
          combined["token_accuracy"]) == (75.0, 37.5, 50.0, 45.0, 85.5)
  assert (combined["gold_entities"], combined["found_entities"],
          combined["correct_entities"]) == (6, 3, 2)
  assert combined["entity_Disease_f1"] == 50.0
  assert combined["entity_Gene_f1"] == 80.0
  assert combined["a_entity_Disease_precision"] == 50.0
  assert combined["b_entity_f1"] == 66.67
  assert combined["global_step"] == 7
  assert list(combined["by_corpus"]) == ["a", "b", "c"]
  assert "by_corpus" not in corpus_scores.written(combined)
  assert corpus_scores.combine([(None, a)]) is a
  assert corpus_scores.combine([("c", {})]) == {}
