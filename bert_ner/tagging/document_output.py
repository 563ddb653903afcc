"""Tagged sentences back into their documents: predicted mentions with
document offsets, mention-level scores by offsets, and the documents
written as PubTator, BioC XML or BioC JSON.

    with DocumentSink("OUT/test_predictions", ["pubtator"]) as sink:
      for item in sink.tee(tagger.tag_stream(examples)):  # regrouped,
        ...                                               # written, scored
    sink.counter.figures()
"""

import collections
import contextlib
import io
import json

from bert_ner.corpora import bioc_format
from bert_ner.corpora import documents
from bert_ner.corpora import formats
from bert_ner.corpora import pubtator_format
from bert_ner import file_io
from bert_ner.linking import concept_ids
from bert_ner.linking import linker as linker_lib
from bert_ner.linking import mention_linking
from bert_ner.tagging import entity_offsets

def parse_output_formats(value):
  """--output_format as a list of formats.DOCUMENT_OUTPUTS names
  (comma-separated), checked."""
  names = [v.strip() for v in (value or "").split(",") if v.strip()]
  for name in names:
    if name not in formats.DOCUMENT_OUTPUTS:
      raise ValueError("Unknown --output_format %r: use %s (comma-separated)."
                       % (name, ", ".join(formats.DOCUMENT_OUTPUTS)))
  return names


def document_writer(name, out):
  """The writer of a formats.DOCUMENT_OUTPUTS format on an open text file:
  write(document, mentions), then close() once all are written."""
  if name == "pubtator":
    return pubtator_format.PubTatorWriter(out)
  return bioc_format.BioCWriter(out, as_json=name == "bioc_json")


def predicted_mentions(example, labels, scores=None):
  """The entities of a tagged example as Mentions in its document's
  offsets (`example.base` is where its text starts)."""
  return [documents.Mention(example.base + span["start"],
                            example.base + span["end"], span["text"],
                            span["type"], score=span.get("score"))
          for span in entity_offsets.entity_spans(
              example.text, example.offsets, labels, scores)]


class DocumentGrouper(object):
  """Groups tagged examples (example, labels[, scores]) of
  offset_conversion back into their documents, fed one at a time: `add`
  returns the documents it completes, `finish` the last one, each as
  (document, predicted Mentions, gold Mentions)."""

  def __init__(self):
    self.document, self.mentions, self.gold = None, [], None

  def add(self, item):
    example = item[0]
    done = []
    if example.source_document is not self.document:
      done = self.finish()
      self.document, self.gold = example.source_document, example.gold
    self.mentions.extend(predicted_mentions(
        example, item[1], item[2] if len(item) > 2 else None))
    return done

  def finish(self):
    done = ([(self.document, self.mentions, self.gold or [])]
            if self.document is not None else [])
    self.document, self.mentions, self.gold = None, [], None
    return done


def output_formats(value, input_format, path):
  """The formats to write the documents of an input in: --output_format's
  names (checked), or the input's own kind (PubTator for PubTator and
  PubMed XML, BioC XML or JSON for BioC); none for a sentence format.

  Raises:
    ValueError: an unknown name, or --output_format for a sentence format.
  """
  names = parse_output_formats(value)
  if not formats.is_document_format(input_format):
    if names:
      raise ValueError("--output_format needs a document format "
                       "(--input_format=pubtator, bioc or pubmed).")
    return []
  return names or [formats.own_output(input_format, path)]


class MentionCounter(object):
  """Mention-level scores by offsets: a predicted mention is correct when
  its span and type are those of a gold mention (a discontinuous gold
  mention is matched by no contiguous prediction). With a scope (the
  types a corpus of --corpora annotates), predictions of other types are
  not counted. With `linked`, a second score by span, type and concept:
  correct when the linked concept's ids (its alternatives) hold each of
  the gold mention's (concept_ids.gold_parts of its identifier): one gold
  concept, BioSyn's rule; a composite mention of two concepts is counted
  wrong, as the doors link a mention to one concept."""

  def __init__(self, scope=None, linked=False):
    self.scope = set(scope) if scope is not None else None
    self.linked = linked
    self.gold = collections.Counter()
    self.found = collections.Counter()
    self.correct = collections.Counter()
    self.correct_ids = collections.Counter()

  def add(self, gold, predicted):
    gold_keys = collections.Counter(m.key() for m in gold)
    found_keys = collections.Counter(
        m.key() for m in predicted
        if self.scope is None or m.type in self.scope)
    for key, n in gold_keys.items():
      self.gold[key[1]] += n
    for key, n in found_keys.items():
      self.found[key[1]] += n
      self.correct[key[1]] += min(n, gold_keys.get(key, 0))
    if self.linked:
      self._add_ids(gold, predicted)

  def _add_ids(self, gold, predicted):
    gold_ids = collections.defaultdict(list)
    for m in gold:
      gold_ids[m.key()].append(set(concept_ids.gold_parts(
          m.identifier or "")))
    for m in predicted:
      if self.scope is not None and m.type not in self.scope:
        continue
      if m.identifier is None:
        continue
      # The linked concept's ids (its MeSH and OMIM alternatives), as
      # run_linker.py scores; right when they name every gold concept of
      # the span (a composite mention's two concepts are not both one
      # concept's ids: a door, linking a mention to one concept, counts
      # it wrong).
      found = set(m.link.ids if m.link is not None else
                  concept_ids.gold_parts(m.identifier))
      waiting = gold_ids.get(m.key(), [])
      hit = next((ids for ids in waiting if ids and ids <= found), None)
      if hit is not None:
        waiting.remove(hit)
        self.correct_ids[m.type] += 1

  def figures(self):
    """{"precision", "recall", "f1" (percent), "gold", "found", "correct",
    "per_type": {type: the same}}."""
    def prf(gold, found, correct):
      p = 100.0 * correct / found if found else 0.0
      r = 100.0 * correct / gold if gold else 0.0
      return {"precision": p, "recall": r,
              "f1": 2 * p * r / (p + r) if p + r else 0.0,
              "gold": gold, "found": found, "correct": correct}
    out = prf(sum(self.gold.values()), sum(self.found.values()),
              sum(self.correct.values()))
    out["per_type"] = {t: prf(self.gold[t], self.found[t], self.correct[t])
                       for t in sorted(set(self.gold) | set(self.found))}
    if self.linked:
      out["linked"] = prf(sum(self.gold.values()), sum(self.found.values()),
                          sum(self.correct_ids.values()))
    return out


def mention_results(figures):
  """Mention-level figures as result keys (percent, 2 decimals):
  mention_precision, mention_recall, mention_f1, per type
  mention_<type>_<figure>, and the counts."""
  out = {"mention_%s" % k: round(figures[k], 2)
         for k in ("precision", "recall", "f1")}
  out.update({"gold_mentions": figures["gold"],
              "found_mentions": figures["found"],
              "correct_mentions": figures["correct"]})
  for type_, t in figures["per_type"].items():
    for key in ("precision", "recall", "f1"):
      out["mention_%s_%s" % (type_, key)] = round(t[key], 2)
  if "linked" in figures:
    for key in ("precision", "recall", "f1"):
      out["linked_mention_%s" % key] = round(figures["linked"][key], 2)
    out["correct_linked_mentions"] = figures["linked"]["correct"]
  return out


def report(figures):
  """Mention-level figures as lines, conlleval-like."""
  lines = ["mention level, by offsets: %d gold, %d found, %d correct; "
           "precision: %6.2f%%; recall: %6.2f%%; F1: %6.2f\n" % (
               figures["gold"], figures["found"], figures["correct"],
               figures["precision"], figures["recall"], figures["f1"])]
  for type_, t in figures["per_type"].items():
    lines.append("%17s: precision: %6.2f%%; recall: %6.2f%%; F1: %6.2f  %d\n"
                 % (type_, t["precision"], t["recall"], t["f1"], t["found"]))
  if "linked" in figures:
    t = figures["linked"]
    lines.append("mention level, by offsets and concept id: %d correct; "
                 "precision: %6.2f%%; recall: %6.2f%%; F1: %6.2f\n" % (
                     t["correct"], t["precision"], t["recall"], t["f1"]))
  return "".join(lines)


def entity_record(mention):
  """A predicted Mention as an entity: start, end, type, text, and its
  score, concept id ("id"), concept name and link score when it has them."""
  out = {"start": mention.start, "end": mention.end, "type": mention.type,
         "text": mention.text}
  if mention.score is not None:
    out["score"] = mention.score
  if mention.link is not None:
    out.update(linker_lib.link_fields(mention.link))
  return out


def entities_line(document, mentions):
  """One JSON line per document: its id, passages and entities (document
  offsets)."""
  return json.dumps({
      "id": document.id,
      "passages": [{"type": p.kind, "offset": p.offset, "text": p.text}
                   for p in document.passages],
      "entities": [entity_record(m) for m in mentions]},
                    ensure_ascii=False) + "\n"


def output_paths(prefix, names):
  """{format name: prefix.extension} of formats.DOCUMENT_OUTPUTS names; with
  prefix None, {format name: None}: the documents kept in memory."""
  return collections.OrderedDict(
      (name, None if prefix is None else "%s.%s" % (
          prefix, formats.DOCUMENT_OUTPUTS[name].extension))
      for name in names)


class DocumentWriters(object):
  """Writes tagged documents to `paths` ({formats.DOCUMENT_OUTPUTS name:
  path}), each file whole or not at all; a format whose path is None is
  written in memory (`texts`).

      with DocumentWriters(output_paths("OUT/test_predictions",
                                        ["pubtator"])) as out:
        out.write(document, predicted)
  """

  def __init__(self, paths):
    self.paths = [p for p in paths.values() if p is not None]
    self._formats = list(paths.items())
    self._stack = contextlib.ExitStack()
    self._out = []
    self._memory = {}

  def __enter__(self):
    for name, path in self._formats:
      if path is None:
        f = self._memory[name] = io.StringIO()
      else:
        f = self._stack.enter_context(file_io.AtomicTextFile(path))
      self._out.append(document_writer(name, f))
    return self

  def write(self, document, mentions):
    for writer in self._out:
      writer.write(document, mentions)

  def texts(self):
    """{format name: text} of the formats written in memory."""
    return {name: f.getvalue() for name, f in self._memory.items()}

  def __exit__(self, exc_type, exc, tb):
    if exc_type is None:
      for writer in self._out:
        writer.close()
    return self._stack.__exit__(exc_type, exc, tb)


class DocumentSink(object):
  """The tagged examples of a document format on their way out: regrouped
  into documents, written (DocumentWriters) and scored by offsets against
  their gold mentions (MentionCounter); `on_document(document, predicted)`
  is called for each, after it is written.

      with DocumentSink("OUT/test_predictions", ["pubtator"]) as sink:
        for item in sink.tee(tagged):   # passes every item through
          ...
      figures = sink.counter.figures()

  `finish` writes the last document (leaving the block does it too). With
  prefix None the documents are written in memory: `texts()` gives them.
  """

  def __init__(self, prefix, names, on_document=None, scope=None,
               linkers=None):
    self.writers = DocumentWriters(output_paths(prefix, names))
    self.paths = self.writers.paths
    self.linkers = linkers
    self._pending, self._pending_mentions = [], 0
    self.counter = MentionCounter(scope, linked=linkers is not None)
    self.grouper = DocumentGrouper()
    self.on_document = on_document
    self.num_documents = 0

  def __enter__(self):
    self.writers.__enter__()
    return self

  def __exit__(self, exc_type, exc, tb):
    if exc_type is None:
      self.finish()
    return self.writers.__exit__(exc_type, exc, tb)

  def finish(self):
    self._write(self.grouper.finish())
    self._link_pending()

  def _write(self, done):
    """Writes done documents; with linkers, once LINK_BATCH mentions are
    waiting (linked together: one encoder call, one product)."""
    if self.linkers is None:
      self._emit(done)
      return
    self._pending.extend(done)
    self._pending_mentions += sum(len(p) for _, p, _ in done)
    if self._pending_mentions >= mention_linking.LINK_BATCH:
      self._link_pending()

  def _link_pending(self):
    if self._pending:
      self.linkers.link_documents([(d, p) for d, p, _ in self._pending])
      self._emit(self._pending)
    self._pending, self._pending_mentions = [], 0

  def _emit(self, done):
    for document, predicted, gold in done:
      self.counter.add(gold, predicted)
      self.writers.write(document, predicted)
      self.num_documents += 1
      if self.on_document:
        self.on_document(document, predicted)

  def texts(self):
    """{format name: text} of the documents written in memory."""
    return self.writers.texts()

  def tee(self, tagged):
    for item in tagged:
      self._write(self.grouper.add(item))
      yield item
