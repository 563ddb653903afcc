"""One sentence of a corpus as the pipeline carries it (InputExample), and
the one-pass count of a stream of them."""

import collections


class InputExample(object):
  """One sentence: its words and, when the file has them, their labels."""

  def __init__(self, guid, words, labels=None, line_number=None, text=None,
               offsets=None, document=0, corpus=0):
    """
    Args:
      guid: str, unique id such as "train-12".
      words: list of str.
      labels: list of str (one per word) or None for unlabelled text.
      line_number: int, line of the first word in its file (1-based).
      text: for plain-text input, the line the words come from.
      offsets: for plain-text input, per word (start, end) in `text`.
      document: index of the sentence's document in its file (CoNLL files
        start a document at each -DOCSTART- line; a file without them is one
        document).
      corpus: index of the sentence's corpus in --corpora (its scope of
        types); 0 for a run of one corpus.
    """
    self.guid = guid
    self.document = document
    self.corpus = corpus
    # Words of the neighbouring sentences of the document, set by
    # `add_context` (--context_sentences): (before, after).
    self.context = None
    self.words = words
    self.labels = labels
    self.line_number = line_number
    self.text = text
    self.offsets = offsets

  def __repr__(self):
    return "InputExample(%s, %r, %r)" % (self.guid, self.words, self.labels)


SplitSummary = collections.namedtuple(
    "SplitSummary", ["num_examples", "num_words", "has_gold", "label_counts"])


def summarize(examples):
  """Counts a stream of examples in one pass (reading the whole file, so a
  bad line fails before any slow work).

  Returns:
    SplitSummary: num_examples, num_words, has_gold (the examples carry
    labels), label_counts (collections.Counter of gold labels).
  """
  num_examples = num_words = 0
  has_gold = False
  label_counts = collections.Counter()
  for example in examples:
    num_examples += 1
    num_words += len(example.words)
    if example.labels is not None:
      has_gold = True
      label_counts.update(example.labels)
  return SplitSummary(num_examples, num_words, has_gold, label_counts)
