"""Plain text: one sentence, paragraph or document per line, split into
words as BERT's BasicTokenizer splits them, each word with its character
offsets in the line. A blank line separates documents: the lines between
two blank lines are the sentences of one document (the neighbours a model
trained with --context_sentences reads), and a file without blank lines is
one document.
"""

from bert_ner.corpora import input_example
import tokenization


class TextReader(object):
  """The plain-text rules, fed one line at a time (files through
  `iter_text`, corpus shards in tag_corpus.py line by line)."""

  def __init__(self, split="test"):
    self.split = split
    self.document = 0
    self._after_blank = False

  def feed(self, number, line):
    """The example of line `number` (an empty one for a blank line)."""
    example = text_example(line, number - 1, number, self.split)
    if not example.words:
      self._after_blank = True
    elif self._after_blank:
      self.document += 1
      self._after_blank = False
    example.document = self.document
    return example

  def skip_sentence(self):
    """Nothing to skip: a bad line is its own sentence."""

  def finish(self):
    """Every line was its own sentence: none is pending."""
    return None


def text_example(line, index, line_number=None, split="test"):
  """The InputExample of one line of plain text, with its words' offsets.

  Words are split as BERT's BasicTokenizer splits them (whitespace, then
  every punctuation character), keeping case and each word's character
  offsets in its line: "BRCA1 (breast)" gives the words BRCA1, (, breast, )
  at (0, 5), (6, 7), (7, 13), (13, 14).
  """
  words = tokenization.split_words(line)
  return input_example.InputExample(
      "%s-%d" % (split, index), [w for w, _, _ in words], None, line_number,
      text=line, offsets=[(start, end) for _, start, end in words])


def iter_text(path, split="test"):
  """Streams plain text as examples with `text`, `offsets` and `document`
  set (see TextReader); an empty line gives an example without words.

  Raises:
    ValueError: for a missing file, bytes that are not UTF-8, or (at the
      end) a file without any word.
  """
  any_words = False
  reader = TextReader(split)
  for number, line in tokenization.iter_utf8_lines(path, "%s file" % split):
    example = reader.feed(number, line)
    any_words = any_words or bool(example.words)
    yield example
  if not any_words:
    raise ValueError("The %s file %s holds no words." % (split, path))


def read_text(path, split="test"):
  """Reads plain text into examples (see `iter_text`).

  Returns:
    (examples without labels, offsets: per line a list of (start, end),
     lines: the input lines).
  """
  examples = list(iter_text(path, split))
  return examples, [e.offsets for e in examples], [e.text for e in examples]
