"""Documents with mention offsets to tagged sentences (their predictions
go back to documents in tagging/document_output.py).

A passage's words are split as BERT's BasicTokenizer splits them
(tokenization.split_words), with their offsets; sentences are found by
syntok (the default, --sentences=syntok) or a passage is one example
(--sentences=passage, cut into windows as any long sentence is). Mentions
become IOB2 tags by these rules, each counted in the split's
ConversionReport (none is dropped silently):

  off word boundaries   a mention that starts or ends inside a word is
                        widened to the words it touches;
  across sentences      the sentences a mention spans are joined;
  overlapping, nested   the longer of two mentions is kept (the earlier of
                        two of one length), the other is not tagged;
  discontinuous         (BioC, several locations) its longest part is
                        tagged;
  no word               a mention over spaces only is not tagged;
  other types           with --entity_types, the types not chosen.

Scores by offsets compare with the original mentions, not these tags.

Example: the title "Familial breast-cancer genes." with the mention 9-22
"breast-cancer" (Disease) gives the words Familial, breast, -, cancer,
genes, . and the tags O B-Disease I-Disease I-Disease O O.
"""

import bisect
import collections

from syntok import segmenter

from bert_ner.corpora import documents
from bert_ner.corpora import input_example
import tokenization

SENTENCE_MODES = ("syntok", "passage")
ALL_TYPES = "*"

REPORT_RULES = collections.OrderedDict([
    ("off_boundary", "started or ended inside a word: widened to the words "
     "it touches"),
    ("across_sentences", "spanned sentences: the sentences were joined"),
    ("overlapping", "overlapped a longer mention: not tagged (the longer one "
     "is)"),
    ("discontinuous", "had several locations: its longest part was tagged"),
    ("no_word", "covered no word: not tagged"),
    ("other_types", "had a type not in --entity_types: not tagged"),
    ("bad_skipped", "had offsets outside their passage or another text: "
     "skipped (--skip_bad_mentions)"),
])


def parse_entity_types(value):
  """--entity_types as {type in the data: label}, or None for every type.

  "Chemical" keeps BC5CDR's chemicals alone; "SpecificDisease=Disease,
  DiseaseClass=Disease" renames; "*=Disease" makes every type one label.

  Raises:
    ValueError: an empty name.
  """
  if not value:
    return None
  chosen = collections.OrderedDict()
  for item in value.split(","):
    name, _, label = item.partition("=")
    name, label = name.strip(), (label.strip() if _ else name.strip())
    if not name or not label:
      raise ValueError("--entity_types %r: %r is no TYPE or TYPE=LABEL." %
                       (value, item))
    chosen[name] = label
  return chosen


class Reading(collections.namedtuple(
    "Reading", ["entity_types", "sentences", "skip_bad_mentions"])):
  """How offset-annotated documents are read: --entity_types (a dict from
  parse_entity_types, or None), --sentences and --skip_bad_mentions."""

  def label_of(self, type_):
    """The label of a mention type, or None for a type not chosen."""
    if self.entity_types is None:
      return type_
    if type_ in self.entity_types:
      return self.entity_types[type_]
    return self.entity_types.get(ALL_TYPES)

  def key(self):
    """What the examples depend on, for the records' fingerprint."""
    return {"entity_types": self.entity_types and list(
        self.entity_types.items()), "sentences": self.sentences,
            "skip_bad_mentions": bool(self.skip_bad_mentions)}


DEFAULT_READING = Reading(None, "syntok", False)


class ConversionReport(object):
  """Counts of one file's conversion: documents, mentions, and each rule
  of REPORT_RULES applied."""

  def __init__(self, path):
    self.path = path
    self.counts = collections.Counter()

  def line(self):
    """One line: the mentions tagged and every rule that applied."""
    c = self.counts
    parts = ["%s: %d documents, %d mentions, %d tagged" % (
        self.path, c["documents"], c["mentions"], c["tagged"])]
    parts.extend("%d %s" % (c[key], rule) for key, rule in
                 REPORT_RULES.items() if c[key])
    if c["text_with_spaces"]:
      parts.append("%d with spaces around their text column (their offsets "
                   "name the span)" % c["text_with_spaces"])
    if c["relations"]:
      parts.append("%d relation(s) not used" % c["relations"])
    return "; ".join(parts)

  def as_dict(self):
    return {k: v for k, v in self.counts.items() if v}


def sentence_starts(text):
  """The character offsets where syntok starts a sentence of `text`."""
  starts = []
  for paragraph in segmenter.analyze(text):
    for sentence in paragraph:
      if sentence:
        starts.append(sentence[0].offset)
  return starts


def _sentences(words, text, mode):
  """The words of a passage cut into sentences: lists of word indices.

  A word belongs to the last sentence that starts at or before it (a
  sentence start inside a word counts from the next word).
  """
  if mode == "passage" or not words:
    return [list(range(len(words)))]
  starts = sentence_starts(text)
  sentences = collections.OrderedDict()
  for index, (_, start, _) in enumerate(words):
    sentences.setdefault(bisect.bisect_right(starts, start), []).append(index)
  return list(sentences.values())


def _touched(words, start, end):
  """Indices of the words that [start, end) touches (passage offsets)."""
  return [i for i, (_, s, e) in enumerate(words) if s < end and start < e]


def check_mentions(document, reading, report, path):
  """The document's mentions that are good; a bad one raises ValueError,
  or with skip_bad_mentions is counted and left out."""
  good = []
  for mention in document.mentions:
    error = documents.check_mention(document, mention, path)
    if error is None:
      if mention.text != document.text_at(mention.start, mention.end) and (
          not mention.is_discontinuous):
        report.counts["text_with_spaces"] += 1
      good.append(mention)
    elif reading.skip_bad_mentions:
      report.counts["bad_skipped"] += 1
    else:
      raise ValueError(error + " Fix the file, or give --skip_bad_mentions "
                       "to skip such mentions (counted).")
  return good


def document_examples(document, document_index, reading, report, split,
                      first_index, path):
  """The examples of one document: its sentences (or passages) with IOB2
  tags of its mentions, each example carrying `text` (its span of the
  passage), `offsets` (its words' spans in `text`), `base` (the document
  offset of `text`), `source_document`, `document` (document_index) and
  `gold` (the document's scored mentions, on its first example).

  A document without words gives one example without words, so every
  document comes back out of the tagger.
  """
  report.counts["documents"] += 1
  report.counts["mentions"] += len(document.mentions)
  report.counts["relations"] += len(document.relations)
  good = check_mentions(document, reading, report, path)
  spans = []  # (start, end, label): what each chosen mention tags
  gold = []  # the chosen mentions as they are, labelled: what is scored
  for mention in good:
    label = reading.label_of(mention.type)
    if label is None:
      report.counts["other_types"] += 1
      continue
    gold.append(documents.Mention(mention.start, mention.end, mention.text,
                                  label, identifier=mention.identifier,
                                  locations=mention.locations))
    start, end = mention.start, mention.end
    if mention.is_discontinuous:
      report.counts["discontinuous"] += 1
      start, end = _longest_location(mention)
    spans.append((start, end, label))
  examples = []
  for passage in document.passages:
    inside = [span for span in spans
              if passage.offset <= span[0] and span[1] <= passage.end]
    examples.extend(_passage_examples(passage, inside, reading, report))
  if not examples:
    examples.append(_example(documents.Passage("", 0, ""), [], [], []))
  for number, example in enumerate(examples):
    example.guid = "%s-%d" % (split, first_index + number)
    example.line_number = document.line_number
    example.document = document_index
    example.source_document = document
    example.id = document.id
  examples[0].gold = gold
  return examples


def _longest_location(mention):
  return max(mention.locations, key=lambda loc: (loc[1] - loc[0], -loc[0]))


def _passage_examples(passage, mentions, reading, report):
  """The examples of a passage; `mentions` are (start, end, label) spans
  in document offsets inside it."""
  text = passage.text
  words = tokenization.split_words(text)
  spans = []  # (first word, last word + 1, label, length) of each mention
  for start, end, label in mentions:
    start, end = start - passage.offset, end - passage.offset
    touched = _touched(words, start, end)
    if not touched:
      report.counts["no_word"] += 1
      continue
    if words[touched[0]][1] != start or words[touched[-1]][2] != end:
      report.counts["off_boundary"] += 1
    spans.append((touched[0], touched[-1] + 1, label, end - start))
  sentences = _join_across(_sentences(words, text, reading.sentences), spans,
                           report)
  tags = ["O"] * len(words)
  # Longest first (then earliest): a mention overlapping one kept is not.
  for first, last, label, _ in sorted(spans, key=lambda s: (-s[3], s[0])):
    if any(tag != "O" for tag in tags[first:last]):
      report.counts["overlapping"] += 1
      continue
    report.counts["tagged"] += 1
    tags[first] = "B-" + label
    for i in range(first + 1, last):
      tags[i] = "I-" + label
  return [_example(passage, words, sentence, tags) for sentence in sentences
          if sentence]


def _join_across(sentences, spans, report):
  """Joins the sentences that one mention spans."""
  sentence_of = {}
  for number, sentence in enumerate(sentences):
    for index in sentence:
      sentence_of[index] = number
  parent = list(range(len(sentences)))
  for first, last, _, _ in spans:
    a, b = sentence_of.get(first), sentence_of.get(last - 1)
    if a is not None and a != b:
      report.counts["across_sentences"] += 1
      for number in range(a + 1, b + 1):
        parent[number] = parent[a]
  joined = collections.OrderedDict()
  for number, sentence in enumerate(sentences):
    joined.setdefault(parent[number], []).extend(sentence)
  return list(joined.values())


def _example(passage, words, indices, tags):
  if indices:
    begin, end = words[indices[0]][1], words[indices[-1]][2]
  else:
    begin = end = 0
  example = input_example.InputExample(
      None, [words[i][0] for i in indices], [tags[i] for i in indices],
      text=passage.text[begin:end],
      offsets=[(words[i][1] - begin, words[i][2] - begin) for i in indices])
  example.base = passage.offset + begin
  example.gold = None
  return example


def iter_examples(docs, path, split, reading=DEFAULT_READING, report=None,
                  labelled=True):
  """Streams the examples of a stream of documents (see
  document_examples); `report` (a ConversionReport) gets the counts.
  Without `labelled`, the examples carry no labels (tagging only).

  Raises:
    ValueError: a bad mention (see check_mentions), or no document at all.
  """
  report = report or ConversionReport(path)
  count = 0
  for document_index, document in enumerate(docs):
    for example in document_examples(document, document_index, reading,
                                     report, split, count, path):
      if not labelled:
        example.labels = None
      count += 1
      yield example
  if not count:
    raise ValueError("The %s file %s holds no documents." % (split, path))
