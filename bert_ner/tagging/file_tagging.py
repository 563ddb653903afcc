"""Tagging one file with an export: its sentences or documents through the
tagging core, the outputs streamed to a folder (predictions.txt,
entities.jsonl for text, predictions.<format> for documents, results.txt
when the file has gold). predict_saved_model.py is its command line; the
HTTP service tags document bodies through it too.
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
             tagger=None, model_input=None, on_document=None, log=_log,
             entity_types=None):
  """Tags `input_file`; streams the outputs to `output_dir`, each file
  written whole or not at all. The options are tagging_options.OPTIONS.

  Args:
    tagger, model_input: the export's loaded Tagger and its ModelInput (a
      service tags many files with one), else read here.
    on_document: with a document format, called with (document, predicted
      Mentions) for each document written.
    log: where the progress and the assumed settings are told.
    entity_types: the types to write (comma-separated or a list; all by
      default).

  Returns:
    conlleval figures for a tagged input with gold tags or mentions, else
    None.
  """
  tagging_options.check(batch_size, export_dir, backend, use_bf16)
  model_input = model_input or saved_model_backend.export_input(
      export_dir, skip_bad_mentions)
  output_formats = document_output.output_formats(output_format,
                                                  input_format, input_file)
  tagger = tagger or saved_model_backend.load_tagger(
      export_dir, repair_tags, log=log, backend=backend, use_bf16=use_bf16,
      model_input=model_input)
  tagger = tagger_lib.of_types(tagger, entity_types)
  reading = model_input.reading

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
      on_document=on_document) if output_formats else None)
  with sink or contextlib.ExitStack():
    tagged = tagger.tag_stream(examples(labelled), batch_size)
    scores = writers.write_word_labels(
        sink.tee(tagged) if sink else tagged,
        os.path.join(output_dir, "predictions.txt"),
        os.path.join(output_dir, "entities.jsonl")
        if input_format == "text" else None, score=summary.has_gold,
        progress_log=progress.Progress("Tagged", "lines/sentences",
                                       summary.num_examples, log=log),
        iobes=tagger.label_map.iobes)
  if not scores:
    return None
  figures, strict = scores
  text = conlleval.report(figures) + "strict IOB2:\n" + conlleval.report(
      strict)
  if sink:
    text += document_output.report(sink.counter.figures())
  file_io.atomic_write_text(os.path.join(output_dir, "results.txt"), text)
  return figures
