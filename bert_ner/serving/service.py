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
import shutil
import tempfile

import bert_ner
from bert_ner.corpora import text_format
from bert_ner.serving import batching
from bert_ner.tagging import document_output
from bert_ner.tagging import entity_offsets
from bert_ner.tagging import file_tagging
from bert_ner.tagging import saved_model_backend
from bert_ner.tagging import tagger as tagger_lib
from bert_ner.tagging import tagging_options

# A request's document format -> (the file the body is read as, the
# format the documents come back in by default).
DOCUMENT_KINDS = {"pubtator": ("body.pubtator", "pubtator"),
                  "bioc_xml": ("body.xml", "bioc_xml"),
                  "bioc_json": ("body.json", "bioc_json")}
# What the documents may come back as: a document format, or "json", the
# lines tag_corpus.py writes per document ({"id", "passages", "entities"}).
DOCUMENT_OUTPUTS = tuple(document_output.OUTPUT_FORMATS) + ("json",)


class TaggingService(object):
  """An export, loaded once, and its tagger behind a batching backend.

  Args:
    export_dir: a run_ner.py export.
    backend, use_bf16, repair_tags: as predict_saved_model.py's options.
    max_batch_windows, max_wait_ms, max_waiting_windows: the batching
      (batching.BatchingBackend).
  """

  def __init__(self, export_dir, backend="saved_model", use_bf16=False,
               repair_tags=False, max_batch_windows=64, max_wait_ms=5.0,
               max_waiting_windows=4096):
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
    self.entity_types = tagger_lib.entity_types(self.tagger.label_map)

  def model_info(self):
    """What GET /v1/model answers."""
    settings = self.model_input.settings
    return {"entity_types": self.entity_types,
            "labels": list(self.tagger.label_map.data_labels),
            "settings": dict(settings._asdict()),
            "backend": self.backend_name,
            "repair_tags": self.repair_tags,
            "export_dir": os.path.abspath(self.export_dir),
            "version": bert_ner.__version__,
            "batching": {"max_batch_windows": self.batch_size,
                         "model_calls": self.batcher.calls,
                         "windows": self.batcher.windows}}

  def tagger_for(self, entity_types):
    """The tagger of the requested types (None: all): the model's, or one
    whose labels of the other types are O; ValueError for a type the model
    does not tag."""
    if entity_types is None:
      return self.tagger
    if not entity_types:  # asked for none
      return tagger_lib.TypeFilter(self.tagger, set())
    return tagger_lib.of_types(self.tagger, entity_types, "entity_types")

  def tag_texts(self, texts, entity_types=None):
    """One result per text, in order: {"text", "entities": [{"start",
    "end", "type", "text", "score"}]}, offsets into the text; only the
    `entity_types` asked for (all by default)."""
    tagger = self.tagger_for(entity_types)
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
    return results

  def tag_documents(self, body, kind, output=None, entity_types=None):
    """Tags a document body (bytes) of a DOCUMENT_KINDS kind; returns
    (text of the documents in `output`: a DOCUMENT_OUTPUTS name, the
    input's own format by default).

    Raises:
      ValueError: a body that does not parse, naming its line, or an
        unknown output.
    """
    tagger = self.tagger_for(entity_types)
    name, default = DOCUMENT_KINDS[kind]
    output = output or default
    if output not in DOCUMENT_OUTPUTS:
      raise ValueError("output must be one of %s, got %r." % (
          ", ".join(DOCUMENT_OUTPUTS), output))
    folder = tempfile.mkdtemp(prefix="bert_ner_serve_")
    lines = []

    def entities(document, predicted):
      lines.append(document_output.entities_line(document, predicted))

    try:
      path = os.path.join(folder, name)
      with open(path, "wb") as f:
        f.write(body)
      written = "bioc_json" if output == "json" else output
      with self.batcher.caller():
        self._tag_file(tagger, path, kind, folder, written, entities)
      if output == "json":
        return "".join(lines)
      ext = document_output.OUTPUT_FORMATS[output]
      with open(os.path.join(folder, "out", "predictions." + ext),
                encoding="utf-8") as f:
        return f.read()
    except ValueError as e:
      raise ValueError(str(e).replace(path, "the request body"))
    finally:
      shutil.rmtree(folder, ignore_errors=True)

  def _tag_file(self, tagger, path, kind, folder, output, on_document):
    file_tagging.tag_file(
        self.export_dir, path, os.path.join(folder, "out"),
        "pubtator" if kind == "pubtator" else "bioc",
        batch_size=self.batch_size, repair_tags=self.repair_tags,
        output_format=output, tagger=tagger, model_input=self.model_input,
        on_document=on_document,
        log=lambda line: None)
