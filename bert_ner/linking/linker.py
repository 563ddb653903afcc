"""The linker: a dictionary and the ways of ranking its names for a
mention, and the scores and predictions of a split.

    linker = Linker(dictionary.read(paths))
    ranked = linker.rank(["breast cancer", "ovarian cancer"], k=5)
    results, lines = score_queries(linker, queries, k=10)

Ranking is by character n-gram TF-IDF (sparse.SparseIndex); an exact
match of the normalised name (the field's simplest baseline) is scored
beside it.
"""

import json

from bert_ner.linking import concept_ids
from bert_ner.linking import queries as queries_lib
from bert_ner.linking import sparse

class Linker(object):
  """A dictionary and its sparse index."""

  def __init__(self, dictionary):
    self.dictionary = dictionary
    self.index = sparse.SparseIndex.fit(dictionary.names)
    self._exact = {}
    for row, entry in enumerate(dictionary.entries):
      self._exact.setdefault(entry.name, row)

  def rank(self, texts, k):
    """Per text (a normalised mention or part), its k best entries as
    (row, score), best first."""
    scores, rows = self.index.top_k(list(texts), k)
    return [list(zip(r.tolist(), s.tolist())) for r, s in zip(rows, scores)]

  def exact(self, text):
    """The row of the first entry whose name is `text`, or None."""
    return self._exact.get(text)

  def candidate(self, row, score):
    entry = self.dictionary.entries[row]
    return {"id": "|".join(entry.ids), "name": entry.shown,
            "score": round(float(score), 4)}


def score_queries(linker, queries, k):
  """Links every part of every query and scores them (BioSyn's rule).

  Returns:
    (results dict: acc@1, acc@5 (of the ranking), exact_acc1, queries,
     composite; one JSON line per query, in order: {"document", "start",
     "end", "mention", "gold", "parts": [{"text", "candidates": [...]}]}).
  """
  parts = [p for q in queries for p in q.parts]
  ranked = iter(linker.rank(parts, k))
  hits, exact_hits, lines = [], [], []
  for query in queries:
    gold = concept_ids.gold_parts(query.gold)
    query_ranked = [next(ranked) for _ in query.parts]
    hits.append(queries_lib.part_hits(query, [
        [linker.dictionary.entries[row].ids for row, _ in r]
        for r in query_ranked]))
    exact_rows = [linker.exact(p) for p in query.parts]
    exact_hits.append([[row is not None and concept_ids.is_hit(
        linker.dictionary.entries[row].ids, gold)] for row in exact_rows])
    lines.append(json.dumps({
        "document": query.document, "start": query.start, "end": query.end,
        "mention": query.mention, "gold": query.gold,
        "parts": [{"text": text, "candidates": [
            linker.candidate(row, score) for row, score in r]}
                  for text, r in zip(query.parts, query_ranked)]},
                            ensure_ascii=False) + "\n")
  results = {"acc1": round(queries_lib.accuracy_at(hits, 1), 2),
             "acc5": round(queries_lib.accuracy_at(hits, 5), 2),
             "sparse_acc1": round(queries_lib.accuracy_at(hits, 1), 2),
             "exact_acc1": round(queries_lib.accuracy_at(exact_hits, 1), 2),
             "queries": len(queries),
             "composite": sum(len(q.parts) > 1 for q in queries),
             "dictionary_names": len(linker.dictionary),
             "dictionary_concepts": linker.dictionary.concepts()}
  return results, lines
