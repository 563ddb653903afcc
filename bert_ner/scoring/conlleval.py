# coding=utf-8
r"""Entity-level (chunk) evaluation with the rules of CoNLL's conlleval.pl
(the command line is conlleval.py at the top level): `evaluate` scores
"... gold predicted" lines, `ChunkCounter` counts tagged sentences as they
come, `report` writes conlleval.pl's report.

Chunk rules are conlleval.pl's (IOB1, IOB2, IOE, untyped tags; an I- after O
or after another type opens a chunk), plus S- (single) and E- -> B- so that
IOBES/BIOES tags are scored as their chunks; on files without S- and E- tags
the figures are identical to conlleval.pl's.

Strict chunks (`strict_chunks`, `evaluate_both`; conlleval.py --strict): in
IOB2 an entity is a B-x followed by its I-x tags; an I- tag that does not
continue an entity of its type belongs to no entity (conlleval instead
opens a chunk there). In IOBES (a file with E- or S- tags) an entity is an
S-x, or a B-x, its I-x tags and its E-x. On valid tags the two reports
agree.
"""

import collections
import re

from bert_ner.label_set import split_tag
from bert_ner.label_set import uses_iobes

BOUNDARY = "-X-"


class ChunkCounts(object):
  """Counts behind the figures, overall and per chunk type."""

  def __init__(self):
    self.tokens = 0
    self.correct_tags = 0
    self.gold_chunks = 0
    self.found_chunks = 0
    self.correct_chunks = 0
    self.gold_by_type = collections.Counter()
    self.found_by_type = collections.Counter()
    self.correct_by_type = collections.Counter()


def end_of_chunk(prev_tag, tag, prev_type, type_):
  """Whether a chunk ended between the previous and the current token."""
  if prev_tag in ("B", "I") and tag in ("B", "O", "S"):
    return True
  if prev_tag == "E" and tag in ("E", "I", "O", "B", "S"):
    return True
  if prev_tag == "S":
    return True
  if prev_tag not in ("O", ".") and prev_type != type_:
    return True
  return prev_tag in ("]", "[")


def start_of_chunk(prev_tag, tag, prev_type, type_):
  """Whether a chunk started between the previous and the current token."""
  if tag == "B" and prev_tag in ("B", "I", "O", "E", "S"):
    return True
  if tag == "I" and prev_tag in ("O", "E", "S"):
    return True
  if tag == "E" and prev_tag in ("E", "O", "S"):
    return True
  if tag == "S":
    return True
  if tag not in ("O", ".") and prev_type != type_:
    return True
  return tag in ("[", "]")


def chunks(tags):
  """The chunks of one sentence's tags, by conlleval's rules.

  Returns:
    list of (type, first index, end index (exclusive)).
  """
  out = []
  start = None
  prev_tag, prev_type = "O", ""
  for index, tag in enumerate(list(tags) + ["O"]):
    tag_, type_ = split_tag(tag)
    if start is not None and end_of_chunk(prev_tag, tag_, prev_type, type_):
      out.append((prev_type, start, index))
      start = None
    if index < len(tags) and start_of_chunk(prev_tag, tag_, prev_type, type_):
      start = index
    prev_tag, prev_type = tag_, type_
  return out


def strict_chunks(tags, iobes=False):
  """The entities of one sentence's tags under the strict rules of the
  tagging scheme. Untyped tags (B, I, E, S) have the type "".

  IOB2: B-x opens an entity, I-x continues it while the type holds,
  anything else closes it; an I- tag outside an entity of its type belongs
  to no entity.

  IOBES (iobes=True): S-x is an entity of one token; B-x opens one, I-x
  continues it and E-x ends it (included), all of the same type; an entity
  that is not ended by its E-x, and an I- or E- tag outside an entity of
  its type, belong to no entity.

  For example ["B-x", "E-x", "S-y", "B-x", "O"] gives, with iobes=True,
  [("x", 0, 2), ("y", 2, 3)]: the last B-x is never ended.

  Returns:
    list of (type, first index, end index (exclusive)).
  """
  out = []
  start, open_type = None, None
  for index, tag in enumerate(list(tags) + ["O"]):
    prefix, type_ = split_tag(tag)
    continues = start is not None and type_ == open_type and (
        prefix == "I" or (iobes and prefix == "E"))
    if start is not None and not continues:
      if not iobes:
        out.append((open_type, start, index))
      start = None
    if continues and prefix == "E":
      out.append((open_type, start, index + 1))
      start = None
    elif prefix == "B":
      start, open_type = index, type_
    elif iobes and prefix == "S":
      out.append((type_, index, index + 1))
  return out


class StrictCounter(object):
  """Counts strict entities sentence by sentence (`strict_chunks`);
  `finish()` gives ChunkCounts for `figures`.

  Args:
    iobes: score by the IOBES rules (True) or IOB2's (False); None: by
      IOBES's from the first sentence whose gold or predicted tags use E- or
      S- (a file whose label set is not known).
  """

  def __init__(self, iobes=None):
    self.counts = ChunkCounts()
    self.detect = iobes is None
    self.iobes = bool(iobes)

  def add_sentence(self, gold_tags, predicted_tags):
    counts = self.counts
    if self.detect and not self.iobes:
      self.iobes = uses_iobes(gold_tags) or uses_iobes(predicted_tags)
    gold = set(strict_chunks(gold_tags, self.iobes))
    found = set(strict_chunks(predicted_tags, self.iobes))
    counts.tokens += len(gold_tags)
    counts.correct_tags += sum(1 for g, p in zip(gold_tags, predicted_tags)
                               if g == p)
    counts.gold_chunks += len(gold)
    counts.found_chunks += len(found)
    counts.correct_chunks += len(gold & found)
    counts.gold_by_type.update(t for t, _, _ in gold)
    counts.found_by_type.update(t for t, _, _ in found)
    counts.correct_by_type.update(t for t, _, _ in gold & found)

  def finish(self):
    return self.counts


class ChunkCounter(object):
  """Counts chunks row by row, so a corpus of any size is scored in one
  streaming pass:

      counter = ChunkCounter()
      for gold, predicted in sentences:
        counter.add_sentence(gold, predicted)
      result, strict = counter.scores()  # conlleval's, strict IOB2/IOBES

  iobes: the strict counts' scheme (see StrictCounter).
  """

  def __init__(self, iobes=None):
    self.counts = ChunkCounts()
    self.strict = StrictCounter(iobes)
    self._in_correct = False
    self._last_gold, self._last_gold_type = "O", ""
    self._last_guess, self._last_guess_type = "O", ""

  def add(self, first, gold_tag, guess_tag):
    """One row: (first field, gold tag, predicted tag); a first field of
    BOUNDARY separates sentences."""
    counts = self.counts
    gold, gold_type = split_tag(gold_tag)
    guess, guess_type = split_tag(guess_tag)
    if first == BOUNDARY:
      guess = "O"
    last_gold, last_gold_type = self._last_gold, self._last_gold_type
    last_guess, last_guess_type = self._last_guess, self._last_guess_type
    gold_end = end_of_chunk(last_gold, gold, last_gold_type, gold_type)
    guess_end = end_of_chunk(last_guess, guess, last_guess_type, guess_type)
    gold_start = start_of_chunk(last_gold, gold, last_gold_type, gold_type)
    guess_start = start_of_chunk(last_guess, guess, last_guess_type,
                                 guess_type)
    if self._in_correct:
      if gold_end and guess_end and last_guess_type == last_gold_type:
        self._in_correct = False
        counts.correct_chunks += 1
        counts.correct_by_type[last_gold_type] += 1
      elif gold_end != guess_end or guess_type != gold_type:
        self._in_correct = False
    if gold_start and guess_start and guess_type == gold_type:
      self._in_correct = True
    if gold_start:
      counts.gold_chunks += 1
      counts.gold_by_type[gold_type] += 1
    if guess_start:
      counts.found_chunks += 1
      counts.found_by_type[guess_type] += 1
    if first != BOUNDARY:
      if gold == guess and gold_type == guess_type:
        counts.correct_tags += 1
      counts.tokens += 1
    self._last_gold, self._last_gold_type = gold, gold_type
    self._last_guess, self._last_guess_type = guess, guess_type

  def add_sentence(self, gold_tags, predicted_tags):
    """One sentence's gold and predicted tags, then a boundary; the strict
    IOB2 counts (`self.strict`) are kept alongside."""
    self.strict.add_sentence(gold_tags, predicted_tags)
    for gold, predicted in zip(gold_tags, predicted_tags):
      self.add("w", gold, predicted)
    self.add(BOUNDARY, "O", "O")

  def finish(self):
    """The ChunkCounts, closing a chunk still open at the end."""
    if self._in_correct:
      self._in_correct = False
      self.counts.correct_chunks += 1
      self.counts.correct_by_type[self._last_gold_type] += 1
    return self.counts

  def scores(self):
    """(conlleval figures, strict IOB2 figures) of what was added by
    sentence (`figures(...)` dicts)."""
    return figures(self.finish()), figures(self.strict.finish())


def count_chunks(rows):
  """Counts chunks over rows of (first_field, gold_tag, predicted_tag).

  A row whose first field is BOUNDARY separates sentences.

  Returns:
    ChunkCounts.
  """
  counter = ChunkCounter()
  for row in rows:
    counter.add(*row)
  return counter.finish()


def parse_lines(lines, delimiter=None, raw=False, otag="O"):
  """Turns conlleval input lines into (first_field, gold, predicted) rows.

  Args:
    lines: iterable of str.
    delimiter: field separator; None splits on runs of spaces and tabs.
    raw: tags carry no B-/I- prefix (conlleval -r): each non-`otag` tag
      becomes B-tag.
    otag: the outside tag for raw mode.

  Raises:
    ValueError: for a line whose field count differs from the first's, or
      with fewer than two fields, naming the line.
  """
  num_fields = None
  for number, line in enumerate(lines, 1):
    line = line.rstrip("\r\n")
    if delimiter is None:
      fields = [f for f in re.split(r"[ \t]+", line) if f]
    else:
      fields = line.split(delimiter)
      while fields and fields[-1] == "":
        fields.pop()
    if not fields:
      yield BOUNDARY, "O", "O"
      continue
    if num_fields is None:
      num_fields = len(fields)
    elif len(fields) != num_fields:
      raise ValueError("line %d: %d fields in %r, the first line had %d." %
                       (number, len(fields), line, num_fields))
    if fields[0] == BOUNDARY:
      yield BOUNDARY, "O", "O"
      continue
    if len(fields) < 2:
      raise ValueError("line %d: %r has fewer than two fields (gold tag, "
                       "predicted tag)." % (number, line))
    gold, guess = fields[-2], fields[-1]
    if raw:
      gold = "O" if gold == otag else "B-" + gold
      guess = "O" if guess == otag else "B-" + guess
    yield fields[0], gold, guess


def _prf(correct, found, gold):
  precision = 100.0 * correct / found if found else 0.0
  recall = 100.0 * correct / gold if gold else 0.0
  f1 = (2 * precision * recall / (precision + recall)
        if precision + recall else 0.0)
  return precision, recall, f1


def _listed_types(counts):
  """The per-type lines of conlleval.pl's report, in its order.

  conlleval.pl sorts the gold and the found types together and drops a
  repeat only when the previous name is true in Perl: so the empty type of
  untyped tags (B, I) is listed once per list that holds it.
  """
  names = sorted(list(counts.gold_by_type) + list(counts.found_by_type))
  listed, last = [], None
  for name in names:
    if last in (None, "", "0") or last != name:
      listed.append(name)
    last = name
  return listed


def figures(counts):
  """The figures conlleval prints, unrounded, as a dict.

  Keys: tokens, gold_phrases, found_phrases, correct_phrases, accuracy,
  precision, recall, f1 (percent), per_type: type -> {precision, recall,
  f1, found, gold, correct} (untyped tags such as B and I have the type ""),
  and listed_types: the types of the report's lines.
  """
  precision, recall, f1 = _prf(counts.correct_chunks, counts.found_chunks,
                               counts.gold_chunks)
  result = {
      "tokens": counts.tokens,
      "gold_phrases": counts.gold_chunks,
      "found_phrases": counts.found_chunks,
      "correct_phrases": counts.correct_chunks,
      "accuracy": (100.0 * counts.correct_tags / counts.tokens
                   if counts.tokens else 0.0),
      "precision": precision,
      "recall": recall,
      "f1": f1,
      "per_type": collections.OrderedDict(),
  }
  types = sorted(set(counts.gold_by_type) | set(counts.found_by_type))
  result["listed_types"] = _listed_types(counts)
  for type_ in types:
    p, r, f = _prf(counts.correct_by_type[type_], counts.found_by_type[type_],
                   counts.gold_by_type[type_])
    result["per_type"][type_] = {
        "precision": p, "recall": r, "f1": f,
        "found": counts.found_by_type[type_],
        "gold": counts.gold_by_type[type_],
        "correct": counts.correct_by_type[type_],
    }
  return result


def evaluate(lines, delimiter=None, raw=False, otag="O"):
  """Scores conlleval-format lines; returns `figures(...)`'s dict."""
  return figures(count_chunks(parse_lines(lines, delimiter, raw, otag)))


def evaluate_both(lines, delimiter=None, raw=False, otag="O"):
  """Scores conlleval-format lines by conlleval's rules and by strict IOB2;
  returns the two `figures(...)` dicts."""
  counter = ChunkCounter()
  gold, predicted = [], []
  for first, gold_tag, guess_tag in parse_lines(lines, delimiter, raw, otag):
    counter.add(first, gold_tag, guess_tag)
    if first == BOUNDARY:
      if gold:
        counter.strict.add_sentence(gold, predicted)
      gold, predicted = [], []
    else:
      gold.append(gold_tag)
      predicted.append(guess_tag)
  if gold:
    counter.strict.add_sentence(gold, predicted)
  return counter.scores()


def evaluate_sentences(gold_sentences, predicted_sentences):
  """Scores iterables (one item per sentence) of gold and predicted tag
  lists."""
  counter = ChunkCounter()
  for gold, predicted in zip(gold_sentences, predicted_sentences):
    counter.add_sentence(gold, predicted)
  return figures(counter.finish())


def report(result):
  """conlleval.pl's text report for `figures(...)`'s dict."""
  out = ["processed %d tokens with %d phrases; found: %d phrases; "
         "correct: %d.\n" % (result["tokens"], result["gold_phrases"],
                             result["found_phrases"],
                             result["correct_phrases"])]
  if result["tokens"]:
    out.append("accuracy: %6.2f%%; precision: %6.2f%%; recall: %6.2f%%; "
               "FB1: %6.2f\n" % (result["accuracy"], result["precision"],
                                 result["recall"], result["f1"]))
  for type_ in result["listed_types"]:
    t = result["per_type"][type_]
    out.append("%17s: precision: %6.2f%%; recall: %6.2f%%; FB1: %6.2f  %d\n"
               % (type_, t["precision"], t["recall"], t["f1"], t["found"]))
  return "".join(out)
