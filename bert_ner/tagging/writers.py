"""Tagged sentences out: CoNLL lines, entities as JSON lines, each file
written whole or not at all, scored against gold labels on the way."""

import contextlib

from bert_ner import file_io
from bert_ner import label_set
from bert_ner.tagging import entity_offsets
from bert_ner.scoring import conlleval


def conll_lines(example, predicted):
  """One sentence as CoNLL text: "word gold pred" (or "word pred" without
  gold) per word, then a blank line."""
  if example.labels is not None:
    lines = ["%s %s %s\n" % row for row in zip(example.words, example.labels,
                                               predicted)]
  else:
    lines = ["%s %s\n" % row for row in zip(example.words, predicted)]
  lines.append("\n")
  return "".join(lines)


def write_word_labels(tagged, out_path, jsonl_path=None, score=False,
                      progress_log=None, iobes=None, scope=None,
                      linkers=None):
  """Streams tagged sentences out as they come: CoNLL lines to out_path,
  entities to jsonl_path (plain-text input), each file written whole or not
  at all; with out_path None (dev scored while training), only scored.

  Args:
    tagged: iterable of (example, one label per word[, per word the
      probability of its label: each entity of jsonl_path then has a
      "score"]).
    score: count the entities against the examples' gold labels.
    progress_log: optional progress.Progress, one step per sentence.
    iobes: the strict scores' scheme (conlleval.StrictCounter); from the
      tags when None.
    scope: the types scored (a corpus of --corpora scores its own types
      only: label_set.in_scope); every type when None.
    linkers: mention_linking.MentionLinkers linking jsonl_path's entities.

  Returns:
    with score, (conlleval figures, strict IOB2 figures); else None.
  """
  counter = conlleval.ChunkCounter(iobes) if score else None
  with contextlib.ExitStack() as files:
    out = (files.enter_context(file_io.AtomicTextFile(out_path))
           if out_path else None)
    jsonl = (entity_offsets.EntityLines(
        files.enter_context(file_io.AtomicTextFile(jsonl_path)), linkers)
             if jsonl_path else None)
    for item in tagged:
      example, labels = item[0], item[1]
      if out:
        out.write(conll_lines(example, labels))
      if jsonl:
        jsonl.write(entity_offsets.entities_record(
            example.text, example.offsets, labels,
            item[2] if len(item) > 2 else None))
      if counter:
        counter.add_sentence(example.labels,
                             label_set.in_scope(labels, scope))
      if progress_log:
        progress_log.add()
    if jsonl:
      jsonl.close()  # the lines still waiting for their links
  if progress_log:
    progress_log.done()
  return counter.scores() if counter else None


def format_conll(examples, predicted_labels):
  """CoNLL text of whole lists (see `conll_lines`)."""
  return "".join(conll_lines(example, predicted) for example, predicted
                 in zip(examples, predicted_labels))
