"""The tagging service behind serve.py: one export loaded once, tagging
texts and documents through the tagging core, with the windows of
concurrent requests batched into shared model calls.

    service = TaggingService(export_dir)
    service.tag_texts(["BRCA1 mutations cause breast cancer."])
    service.tag_documents(pubtator_bytes, "pubtator")

Answers are those of predict_saved_model.py: a text's result is the line
of entities.jsonl it writes for the same text (each text is tagged on its
own, as a document of one sentence or paragraph), and documents come back
as its predictions.pubtator (or .bioc.xml, .bioc.json).
"""

import os

import bert_ner
from bert_ner.corpora import formats
from bert_ner.corpora import text_format
from bert_ner.linking import mention_linking
from bert_ner.serving import batching
from bert_ner.tagging import document_output
from bert_ner.tagging import entity_offsets
from bert_ner.tagging import file_tagging
from bert_ner.tagging import saved_model_backend
from bert_ner.tagging import tagger as tagger_lib
from bert_ner.tagging import tagging_options

# What documents may come back as: a document format (formats.
# DOCUMENT_OUTPUTS), or "json", the lines tag_corpus.py writes per document
# ({"id", "passages", "entities"}).
ENTITY_LINES = "json"
DOCUMENT_ANSWERS = tuple(formats.DOCUMENT_OUTPUTS) + (ENTITY_LINES,)
# How a request body is named in errors, by its format (a BioC name ending
# in .json reads BioC JSON).
BODY_NAME = "the request body"
BODY_NAMES = {"pubtator": BODY_NAME, "bioc_xml": BODY_NAME,
              "bioc_json": BODY_NAME + ".json"}


class TaggingService(object):
  """An export, loaded once, and its tagger behind a batching backend.

  Args:
    export_dir: a run_ner.py export.
    backend, use_bf16, repair_tags: as predict_saved_model.py's options.
    max_batch_windows, max_wait_ms, max_waiting_windows: the batching
      (batching.BatchingBackend).
    linker_dir: linker folders (run_linker.py --export_dir), loaded once:
      each entity they link carries "id", "concept" and "link_score".
  """

  def __init__(self, export_dir, backend="saved_model", use_bf16=False,
               repair_tags=False, max_batch_windows=64, max_wait_ms=5.0,
               max_waiting_windows=4096, linker_dir=None):
    tagging_options.check(max_batch_windows, export_dir, backend, use_bf16)
    self.export_dir = export_dir
    self.backend_name = backend + ("+bf16" if use_bf16 else "")
    self.repair_tags = repair_tags
    self.batch_size = max_batch_windows
    self.model_input = saved_model_backend.export_input(export_dir)
    self.tagger = saved_model_backend.load_tagger(
        export_dir, repair_tags, backend=backend, use_bf16=use_bf16,
        model_input=self.model_input,
        wrap_backend=lambda run: batching.BatchingBackend(
            run, max_batch_windows, max_wait_ms, max_waiting_windows))
    self.batcher = self.tagger.backend
    self.types = tagger_lib.entity_types(self.tagger.label_map)
    self.linkers = mention_linking.MentionLinkers.load(linker_dir,
                                                       self.types)

  def model_info(self):
    """What GET /v1/model answers: the types the model tags (and writes
    unless a request's write_types asks for fewer), apart from the
    settings it was trained with (among them entity_types, its renaming of
    the data's types)."""
    settings = self.model_input.settings
    return {"types": self.types,
            "labels": list(self.tagger.label_map.data_labels),
            "settings": dict(settings._asdict()),
            "backend": self.backend_name,
            "repair_tags": self.repair_tags,
            "linkers": self.linkers.describe() if self.linkers else {},
            "export_dir": os.path.abspath(self.export_dir),
            "version": bert_ner.__version__,
            "batching": {"max_batch_windows": self.batch_size,
                         "model_calls": self.batcher.calls,
                         "windows": self.batcher.windows}}

  def tagger_for(self, write_types):
    """The tagger of the types to write (None or []: all, as at every
    door): the model's, or one whose labels of the other types are O;
    ValueError for a type the model does not tag."""
    return tagger_lib.of_types(self.tagger, write_types, "write_types")

  def tag_texts(self, texts, write_types=None):
    """One result per text, in order: {"text", "entities": [{"start",
    "end", "type", "text", "score"}]}, offsets into the text; only the
    types of `write_types` (all by default)."""
    tagger = self.tagger_for(write_types)
    examples = []
    for index, text in enumerate(texts):
      example = text_format.text_example(text, index, index + 1, "request")
      example.document = index  # each text a document of its own
      examples.append(example)
    results = []
    with self.batcher.caller():
      for example, labels, scores in tagger.tag_stream(examples,
                                                       self.batch_size):
        results.append(entity_offsets.entities_record(
            example.text, example.offsets, labels, scores))
    if self.linkers is not None:
      self.linkers.link_records(results)  # the request's texts together
    return results

  def tag_documents(self, body, kind, output=None, write_types=None):
    """Tags a document body (bytes) of a formats.DOCUMENT_OUTPUTS kind in
    memory, through the code files go through (file_tagging); returns the
    text of the documents in `output` (a DOCUMENT_ANSWERS name; the
    input's own format by default).

    Raises:
      ValueError: a body that does not parse, naming its line, or an
        unknown output.
    """
    output = output or kind
    if output not in DOCUMENT_ANSWERS:
      raise ValueError("output must be one of %s, got %r." % (
          ", ".join(DOCUMENT_ANSWERS), output))
    tagger = self.tagger_for(write_types)
    lines = []
    written = [] if output == ENTITY_LINES else [output]
    name = BODY_NAMES[kind]
    try:
      with self.batcher.caller():
        texts = file_tagging.tag_documents(
            tagger, self.model_input.reading, body, name,
            formats.DOCUMENT_OUTPUTS[kind].input_format, written,
            self.batch_size, on_document=lambda document, predicted:
            lines.append(document_output.entities_line(document, predicted)),
            linkers=self.linkers)
    except ValueError as e:
      raise ValueError(str(e).replace(name, BODY_NAME)) from None
    return "".join(lines) if output == ENTITY_LINES else texts[output]
