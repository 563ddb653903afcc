"""The input formats every door reads, by name: one reader each.

    for example in formats.iter_file("abstracts.txt", "text"):
      ...
    reader = formats.line_reader("conll", path)   # fed line by line

Sentence formats (conll, text) give sentences; document formats (pubtator,
bioc, pubmed) give documents with character offsets, which
offset_conversion turns into sentences with tags and back. A new format is
one module in this folder with a reader, named here.
"""

import collections

from bert_ner.corpora import bioc_format
from bert_ner.corpora import conll_format
from bert_ner.corpora import offset_conversion
from bert_ner.corpora import pubmed_format
from bert_ner.corpora import pubtator_format
from bert_ner.corpora import text_format

SENTENCE_FORMATS = ("conll", "text")
# Documents with offsets: bioc is BioC XML, or BioC JSON for a .json file.
DOCUMENT_FORMATS = ("pubtator", "bioc", "pubmed")
INPUT_FORMATS = SENTENCE_FORMATS + DOCUMENT_FORMATS
# The formats a model can be trained and scored on.
TRAINING_FORMATS = ("conll", "pubtator", "bioc")


# The document formats written (and, by the service, read from a request):
# name, the input format that reads it, the file extension of a
# predictions file, the media type of an answer, and the content types of
# a request body in it. The one table of them: the readers, the writers,
# the doors and the service take their names from here.
DocumentFormat = collections.namedtuple("DocumentFormat", [
    "name", "input_format", "extension", "media_type", "request_types"])
DOCUMENT_OUTPUTS = collections.OrderedDict((f.name, f) for f in (
    DocumentFormat("pubtator", "pubtator", "pubtator",
                   "text/x-pubtator; charset=utf-8", ("text/x-pubtator",)),
    DocumentFormat("bioc_xml", "bioc", "bioc.xml",
                   "application/xml; charset=utf-8",
                   ("application/xml", "text/xml")),
    DocumentFormat("bioc_json", "bioc", "bioc.json", "application/json",
                   ("application/json",)),
))


def own_output(input_format, path):
  """The DOCUMENT_OUTPUTS name a document input is written back in: BioC
  XML or JSON as the file is (by its name), PubTator for PubTator and
  PubMed XML."""
  if input_format == "bioc":
    return "bioc_json" if bioc_format.is_json(path) else "bioc_xml"
  return "pubtator"


def check_format(input_format):
  if input_format not in INPUT_FORMATS:
    raise ValueError("Unknown input format %r: use one of %s." %
                     (input_format, ", ".join(INPUT_FORMATS)))


def is_document_format(input_format):
  return input_format in DOCUMENT_FORMATS


def iter_documents(path, input_format, data=None):
  """Streams the Documents of a file of a document format (of `data`, its
  bytes, when they are in memory already: a request's body, which `path`
  then names, BioC JSON by a name ending in .json)."""
  if input_format == "pubtator":
    return pubtator_format.iter_documents(path, data=data)
  if input_format == "bioc":
    return bioc_format.iter_documents(path, data)
  if input_format == "pubmed":
    return pubmed_format.iter_documents(path)
  raise ValueError("%s is no document format (%s)." %
                   (input_format, ", ".join(DOCUMENT_FORMATS)))


def iter_file(path, input_format, split="input", require_labels=False,
              reading=offset_conversion.DEFAULT_READING, report=None,
              labelled=True, data=None):
  """Streams the InputExamples of a file (see conll_format.iter_conll,
  text_format.iter_text and offset_conversion.iter_examples).

  Args:
    reading: for document formats, offset_conversion.Reading.
    report: for document formats, a ConversionReport that gets the counts.
    labelled: for document formats, tag the examples by their mentions.
    data: for pubtator and bioc, the file's bytes when in memory already.
  """
  check_format(input_format)
  if input_format == "text":
    return text_format.iter_text(path, split)
  if input_format == "conll":
    return conll_format.iter_conll(path, split, require_labels)
  return offset_conversion.iter_examples(
      iter_documents(path, input_format, data), path, split, reading, report,
      labelled and input_format != "pubmed")


def gold_of(summary, report, input_format):
  """(summary, labelled) of a file read once with labels: a file of a
  document format without any mention (its ConversionReport counted none)
  has no gold, so its summary then counts no labels and it is read again
  unlabelled."""
  if is_document_format(input_format) and not report.counts["mentions"]:
    return summary._replace(has_gold=False,
                            label_counts=collections.Counter()), False
  return summary, True


def line_reader(input_format, path, split="input"):
  """A reader fed (line number, line) pairs: ConllReader, TextReader or
  PubTatorReader."""
  check_format(input_format)
  if input_format == "text":
    return text_format.TextReader(split)
  if input_format == "pubtator":
    return pubtator_format.PubTatorReader(path)
  if input_format == "conll":
    return conll_format.ConllReader(path, split)
  raise ValueError("%s files are read whole, not line by line." %
                   input_format)
