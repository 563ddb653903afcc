"""Entities of a tagged sentence with character offsets into its text."""

import json

from bert_ner.scoring import conlleval


def entity_spans(text, offsets, labels, scores=None):
  """The entities of one tagged sentence, with character offsets into it.

  Example: text "BRCA1 causes breast cancer", offsets [(0, 5), (6, 12),
  (13, 19), (20, 26)], labels O O B-Disease I-Disease give
  [{"start": 13, "end": 26, "type": "Disease", "text": "breast cancer"}].

  Args:
    text: str, the sentence's text.
    offsets: per word (start, end) in `text`.
    labels: one tag per word (conlleval's chunk rules).
    scores: optional, per word the probability of its tag: each entity
      then has "score", the mean over its words (4 decimals).

  Returns:
    list of {"start", "end", "type", "text"[, "score"]} dicts, with
    `text[start:end] == entity["text"]`.
  """
  spans = []
  for type_, first, last in conlleval.chunks(labels):
    start, end = offsets[first][0], offsets[last - 1][1]
    span = {"start": start, "end": end, "type": type_,
            "text": text[start:end]}
    if scores is not None:
      span["score"] = round(sum(scores[first:last]) / (last - first), 4)
    spans.append(span)
  return spans


def entities_record(line, offsets, labels, scores=None, linkers=None):
  """{"text", "entities": entity_spans} of one tagged line; with linkers
  (mention_linking.MentionLinkers) each entity linked carries its "id",
  "concept" and "link_score"."""
  entities = entity_spans(line, offsets, labels, scores)
  if linkers is not None:
    linkers.link_entities(entities, line)
  return {"text": line, "entities": entities}


def entities_json_line(line, offsets, labels, scores=None, linkers=None):
  """One JSON line of entities_record (the lines of entities.jsonl)."""
  return json.dumps(entities_record(line, offsets, labels, scores, linkers),
                    ensure_ascii=False) + "\n"
