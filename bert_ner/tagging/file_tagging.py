"""Tagging a file or a request's documents with an export: sentences or
documents through the tagging core, the outputs streamed out as they come
(tag_examples), to a folder for a file (predictions.txt, entities.jsonl
for text, predictions.<format> for documents, results.txt when the file
has gold) or to memory for the HTTP service's documents.

    figures = tag_file(export_dir, "abstracts.txt", "OUT")   # the command
    texts = tag_documents(tagger, reading, body, "body.pubtator",
                          "pubtator", ["pubtator"])          # the service
"""

import contextlib
import os
import sys

import tensorflow as tf

from bert_ner.corpora import formats
from bert_ner.corpora import input_example
from bert_ner.corpora import offset_conversion
from bert_ner import file_io
from bert_ner import progress
from bert_ner.linking import mention_linking
from bert_ner.scoring import conlleval
from bert_ner.tagging import document_output
from bert_ner.tagging import saved_model_backend
from bert_ner.tagging import tagger as tagger_lib
from bert_ner.tagging import tagging_options
from bert_ner.tagging import writers


def _log(line):
  print(line, file=sys.stderr)


def tag_file(export_dir, input_file, output_dir, input_format="text",
             batch_size=32, repair_tags=False, output_format=None,
             backend="saved_model", use_bf16=False, skip_bad_mentions=False,
             log=_log, write_types=None, linker_dir=None):
  """Loads an export and tags `input_file` with it (predict_saved_model.py);
  see tag_with for the outputs. The options are tagging_options.OPTIONS.

  Args:
    log: where the progress and the assumed settings are told.
    write_types: the types to write (comma-separated or a list; empty or
      None: every type the model tags).
    linker_dir: linker folders (comma-separated or a list) that link the
      mentions written.

  Returns:
    conlleval figures for an input with gold tags or mentions, else None.
  """
  tagging_options.check(batch_size, export_dir, backend, use_bf16)
  model_input = saved_model_backend.export_input(export_dir,
                                                 skip_bad_mentions)
  document_output.output_formats(output_format, input_format, input_file)
  tagger = saved_model_backend.load_tagger(
      export_dir, repair_tags, log=log, backend=backend, use_bf16=use_bf16,
      model_input=model_input)
  linkers = mention_linking.MentionLinkers.load(
      linker_dir, tagger_lib.entity_types(tagger.label_map))
  return tag_with(tagger_lib.of_types(tagger, write_types), model_input.reading,
                  input_file, output_dir, input_format, batch_size,
                  output_format, log, linkers)


def tag_with(tagger, reading, input_file, output_dir, input_format="text",
             batch_size=32, output_format=None, log=_log, linkers=None):
  """Tags `input_file` with a loaded tagger (its mentions linked by
  `linkers`, mention_linking.MentionLinkers); streams the outputs to
  `output_dir`, each file written whole or not at all.

  Returns:
    conlleval figures for an input with gold tags or mentions, else None.
  """
  output_formats = document_output.output_formats(output_format,
                                                  input_format, input_file)

  def examples(labelled=True, report=None):
    return formats.iter_file(input_file, input_format, reading=reading,
                             labelled=labelled, report=report)

  # One pass first, so a bad line fails before any output is written.
  report = offset_conversion.ConversionReport(input_file)
  summary, labelled = formats.gold_of(
      input_example.summarize(examples(report=report)), report, input_format)
  if not summary.num_examples:
    raise ValueError("The input file %s holds no sentences." % input_file)
  tf.io.gfile.makedirs(output_dir)
  sink = (document_output.DocumentSink(
      os.path.join(output_dir, "predictions"), output_formats,
      linkers=linkers) if output_formats else None)
  scores = tag_examples(
      tagger, examples(labelled), batch_size, sink,
      os.path.join(output_dir, "predictions.txt"),
      os.path.join(output_dir, "entities.jsonl")
      if input_format == "text" else None, score=summary.has_gold,
      progress_log=progress.Progress("Tagged", "lines/sentences",
                                     summary.num_examples, log=log),
      linkers=linkers)
  if not scores:
    return None
  figures, strict = scores
  text = conlleval.report(figures) + "strict IOB2:\n" + conlleval.report(
      strict)
  if sink:
    text += document_output.report(sink.counter.figures())
  file_io.atomic_write_text(os.path.join(output_dir, "results.txt"), text)
  return figures


def tag_documents(tagger, reading, data, name, input_format, output_formats,
                  batch_size=32, on_document=None, linkers=None):
  """Tags the documents of a file's bytes in memory (a request's body) and
  returns them written in each of `output_formats` ({name: text}).

  Args:
    data: the bytes of a pubtator or bioc file; `name` names them in
      errors (and a BioC name ending in .json reads BioC JSON).
    on_document: called with (document, predicted Mentions) for each.

  Raises:
    ValueError: for documents that do not parse, naming `name` and the
      line, before any is tagged.
  """
  def examples():
    return formats.iter_file(name, input_format, reading=reading,
                             labelled=False, data=data)

  # One pass first, so a bad line fails before any tagging.
  if not input_example.summarize(examples()).num_examples:
    raise ValueError("%s holds no sentences." % name)
  sink = document_output.DocumentSink(None, output_formats, on_document,
                                      linkers=linkers)
  tag_examples(tagger, examples(), batch_size, sink)
  return sink.texts()


def tag_examples(tagger, examples, batch_size, sink=None, out_path=None,
                 jsonl_path=None, score=False, progress_log=None,
                 linkers=None):
  """The one way tagged examples go out, for a file or in memory: through
  a document_output.DocumentSink (documents) and writers.write_word_labels
  (CoNLL lines to out_path, entities to jsonl_path, scored with `score`).

  Returns:
    with score, (conlleval figures, strict IOB2 figures); else None.
  """
  with sink or contextlib.ExitStack():
    tagged = tagger.tag_stream(examples, batch_size)
    return writers.write_word_labels(
        sink.tee(tagged) if sink else tagged, out_path, jsonl_path,
        score=score, progress_log=progress_log,
        iobes=tagger.label_map.iobes, linkers=linkers)
