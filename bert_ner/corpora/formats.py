"""The input formats every door reads, by name: one reader each.

    for example in formats.iter_file("abstracts.txt", "text"):
      ...
    reader = formats.line_reader("conll", path)   # fed line by line

A new format is one module in this folder with a line reader (feed,
skip_sentence, finish) and a file reader, named here.
"""

from bert_ner.corpora import conll_format
from bert_ner.corpora import text_format

INPUT_FORMATS = ("conll", "text")


def check_format(input_format):
  if input_format not in INPUT_FORMATS:
    raise ValueError("Unknown input format %r: use one of %s." %
                     (input_format, ", ".join(INPUT_FORMATS)))


def iter_file(path, input_format, split="input", require_labels=False):
  """Streams the InputExamples of a file (see conll_format.iter_conll and
  text_format.iter_text)."""
  check_format(input_format)
  if input_format == "text":
    return text_format.iter_text(path, split)
  return conll_format.iter_conll(path, split, require_labels)


def line_reader(input_format, path, split="input"):
  """A reader fed (line number, line) pairs: ConllReader or TextReader."""
  check_format(input_format)
  if input_format == "text":
    return text_format.TextReader(split)
  return conll_format.ConllReader(path, split)
