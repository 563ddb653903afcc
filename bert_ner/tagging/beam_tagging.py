"""Tagging a corpus on Apache Beam: the pipeline tag_corpus.py runs.

The input files are cut into pieces (corpus_shards.plan_pieces); each
worker loads the export once (TagPieceFn.setup) and tags whole pieces
through the tagging core, writing each piece's shard files under
temporary names renamed when whole, its entities file last. A restarted
job skips the shards whose entities file exists.

The DoFn lives in this module, not in a script, so that workers of any
runner (local processes, Flink, Spark, Dataflow) unpickle it by importing
the package.
"""

import argparse
import collections
import contextlib
import json
import os
import sys
import threading
import time

import apache_beam as beam
from apache_beam.options import pipeline_options
import tensorflow as tf

from bert_ner.corpora import formats
from bert_ner.corpora import offset_conversion
from bert_ner import file_io
from bert_ner import label_set
from bert_ner.linking import linker_folder
from bert_ner.linking import mention_linking
from bert_ner import machine
from bert_ner import model_settings
from bert_ner import progress
from bert_ner.tagging import corpus_shards
from bert_ner.tagging import document_output
from bert_ner.tagging import entity_offsets
from bert_ner.tagging import saved_model_backend
from bert_ner.tagging import tagger as tagger_lib
from bert_ner.tagging import tagging_options
from bert_ner.tagging import writers

# The project's root: local Beam workers import the project from here.
ROOT = os.path.dirname(os.path.dirname(os.path.dirname(
    os.path.abspath(__file__))))
DEFAULT_LINES_PER_SHARD = 20000
SUMMARY_NAME = "summary.json"
PLAN_NAME = "plan.json"

# What a job tags with, and how: the workers' arguments.
TagOptions = collections.namedtuple(
    "TagOptions", ["export_dir", "output_dir", "num_shards", "input_format",
                   "batch_size", "conll_output", "threads", "repair_tags",
                   "output_formats", "backend", "use_bf16", "model_input",
                   "write_types", "linker_dirs"])


class TagPiece(object):
  """Tags one piece per call and writes its shard files; the SavedModel is
  loaded once (setup)."""

  def __init__(self, options):
    self.options = options
    self.tagger = None
    self.linkers = None

  def setup(self):
    threads = self.options.threads
    if threads:
      try:
        tf.config.threading.set_intra_op_parallelism_threads(threads)
        tf.config.threading.set_inter_op_parallelism_threads(threads)
      except RuntimeError:
        pass  # TensorFlow already started in this worker.
    self.tagger = saved_model_backend.load_tagger(
        self.options.export_dir, self.options.repair_tags,
        backend=self.options.backend, use_bf16=self.options.use_bf16,
        threads=threads, model_input=self.options.model_input)
    self.tagger = tagger_lib.of_types(self.tagger, self.options.write_types)
    # Loaded once per worker, beside the tagger.
    self.linkers = mention_linking.MentionLinkers.load(
        self.options.linker_dirs, threads=threads)

  def path(self, kind, index, extension):
    return corpus_shards.shard_path(self.options.output_dir, kind, index,
                                    self.options.num_shards, extension)

  def process(self, piece):
    """Tags `piece` unless its shard is done; yields its counts."""
    if tf.io.gfile.exists(self.path("entities", piece.index, "jsonl")):
      yield corpus_shards.read_counts(self.options.output_dir, piece.index,
                                      self.options.num_shards)
      return
    if self.tagger is None:
      self.setup()
    if formats.is_document_format(self.options.input_format):
      yield self.process_documents(piece)
      return
    counts = collections.Counter({k: 0 for k in corpus_shards.COUNT_KEYS})
    # Entered first, so renamed last: the entities file marks the shard as
    # done, and every other file of the shard is whole before it.
    with contextlib.ExitStack() as files:
      out = {kind: files.enter_context(file_io.AtomicTextFile(
          self.path(kind, piece.index, extension)))
             for kind, extension in self.shard_files()}
      lines = entity_offsets.EntityLines(out["entities"], self.linkers)
      for example, labels, scores in self.tagger.tag_stream(
          self.examples(piece, counts, out["dead_letter"]),
          self.options.batch_size):
        entities = entity_offsets.entity_spans(example.text, example.offsets,
                                               labels, scores)
        counts["sentences"] += 1
        counts["words"] += len(example.words)
        counts["entities"] += len(entities)
        lines.write({"id": example.id, "text": example.text,
                     "entities": entities})
        if "predictions" in out:
          out["predictions"].write(writers.conll_lines(example, labels))
      lines.close()
      out["counts"].write(json.dumps(dict(counts)) + "\n")
    yield dict(counts)

  def process_documents(self, piece):
    """Tags a piece of a document format: per document one line of
    entities (document offsets) and the documents in each output format."""
    counts = collections.Counter({k: 0 for k in corpus_shards.COUNT_KEYS})
    with contextlib.ExitStack() as files:
      out = {kind: files.enter_context(file_io.AtomicTextFile(
          self.path(kind, piece.index, extension)))
             for kind, extension in self.shard_files()}

      def entities(document, predicted):
        counts["documents"] += 1
        counts["entities"] += len(predicted)
        out["entities"].write(document_output.entities_line(document,
                                                            predicted))

      sink = files.enter_context(document_output.DocumentSink(
          corpus_shards.shard_prefix(self.options.output_dir, "documents",
                                     piece.index, self.options.num_shards),
          self.options.output_formats, on_document=entities,
          linkers=self.linkers))
      for example, labels, _ in sink.tee(self.tagger.tag_stream(
          self.document_examples(piece, counts, out["dead_letter"]),
          self.options.batch_size)):
        counts["sentences"] += bool(example.words)
        counts["words"] += len(example.words)
        if "predictions" in out:
          out["predictions"].write(writers.conll_lines(example, labels))
      sink.finish()  # the last document, before the counts
      out["counts"].write(json.dumps(dict(counts)) + "\n")
    return dict(counts)

  def document_examples(self, piece, counts, dead):
    """The examples of a piece's documents (their own mentions, if any,
    are not used); dead letters are written to `dead`."""
    reading = self.options.model_input.reading
    report = offset_conversion.ConversionReport(piece.path)
    for index, (kind, item) in enumerate(corpus_shards.parse_documents(
        piece, self.options.input_format)):
      if kind == "dead":
        counts["dead_letters"] += 1
        dead.write(json.dumps(item, ensure_ascii=False) + "\n")
        continue
      item.mentions = []
      for example in offset_conversion.document_examples(
          item, index, reading, report, "input", 0, piece.path):
        example.labels = None
        yield example

  def shard_files(self):
    """(kind, extension) of a shard's files, the entities file first."""
    kinds = [("entities", "jsonl"), ("dead_letter", "jsonl")]
    if self.options.conll_output:
      kinds.append(("predictions", "conll"))
    return kinds + [("counts", "json")]

  def examples(self, piece, counts, dead):
    """The piece's examples; its dead letters are written to `dead`."""
    for kind, item in corpus_shards.parse_piece(piece,
                                                self.options.input_format):
      counts["lines"] += 1
      if kind == "dead":
        counts["dead_letters"] += 1
        dead.write(json.dumps(item, ensure_ascii=False) + "\n")
      else:
        yield item


class TagPieceFn(beam.DoFn):
  """TagPiece as a Beam DoFn: setup() once per worker, process() per piece."""

  def __init__(self, options):
    super().__init__()
    self.tagger = TagPiece(options)

  def setup(self):
    self.tagger.setup()

  def process(self, element):
    return self.tagger.process(corpus_shards.Piece(*element))


def check_plan(output_dir, plan):
  """Writes the plan to OUT/plan.json, or checks that a job started before
  had the same one (so finished shards are reused only for the same job).

  Raises:
    ValueError: OUT holds shards of another job.
  """
  path = os.path.join(output_dir, PLAN_NAME)
  if file_io.previous_plan(path, plan) is not None:
    raise ValueError(
        "%s holds the output of another tagging job (other inputs, model "
        "or settings; see %s). Use a new --output_dir, or remove it." %
        (output_dir, path))


def watch_progress(output_dir, num_shards, total_lines, stop, log,
                   unit="lines"):
  """Logs finished shards and lines (or documents) every 30 s until `stop`
  is set."""
  lines = progress.Progress("Tagged", unit, total_lines, log=log)
  seen = set()
  while not stop.wait(progress.LOG_EVERY_SECONDS):
    done = tf.io.gfile.glob(os.path.join(output_dir, "entities-*.jsonl"))
    for name in done:
      if name not in seen:
        seen.add(name)
        index = int(os.path.basename(name).split("-")[1])
        lines.count += corpus_shards.read_counts(output_dir, index,
                                                 num_shards).get(unit, 0)
    log("%s; %d of %d shards" % (lines.line(), len(seen), num_shards))


def plan_job(model_input, inputs, output_dir, input_format, lines_per_shard,
             conll_output, repair_tags, output_formats=(),
             backend="saved_model", use_bf16=False, log=None,
             write_types="", linker_dirs=()):
  """Checks the arguments and the export's input (read once, as
  model_input), plans the pieces and records the plan (see check_plan);
  returns (files, pieces)."""
  if lines_per_shard < 1:
    raise ValueError("--lines_per_shard must be positive, got %d." %
                     lines_per_shard)
  export_dir = model_input.folder
  model_input.check_repair_tags(repair_tags)
  label_map = label_set.LabelMap.from_file(
      os.path.join(export_dir, model_settings.LABEL_LIST_NAME))
  wanted = tagger_lib.wanted_types(label_map, write_types)
  for folder in linker_dirs:
    mention_linking.check_types(linker_folder.read_settings(folder), folder,
                                tagger_lib.entity_types(label_map))
  files = corpus_shards.expand_inputs(inputs)
  corpus_shards.check_input_mentions(files, input_format,
                                     model_input.reading, log)
  pieces = corpus_shards.plan_pieces(files, input_format, lines_per_shard,
                                     model_input.settings.context_sentences)
  plan = {"export_dir": os.path.abspath(export_dir), "files": files,
          "input_format": input_format, "lines_per_shard": lines_per_shard,
          "conll_output": bool(conll_output), "num_shards": len(pieces)}
  if repair_tags:
    plan["repair_tags"] = True
  if output_formats:
    plan["output_formats"] = list(output_formats)
  if wanted:
    plan["write_types"] = sorted(wanted)
  if linker_dirs:
    plan["linker_dirs"] = [os.path.abspath(f) for f in linker_dirs]
  if backend != "saved_model" or use_bf16:
    # Another backend or precision gives (slightly) other answers.
    plan["backend"] = backend + ("+bf16" if use_bf16 else "")
  check_plan(output_dir, plan)
  file_io.remove_stale_temporary_files(output_dir)
  return files, pieces


def _option_classes(cls=pipeline_options.PipelineOptions):
  for sub in cls.__subclasses__():
    yield sub
    for subsub in _option_classes(sub):
      yield subsub


def unknown_beam_options(beam_args):
  """The arguments that are no Beam pipeline option of this Beam version
  (Beam itself would only log them and go on without them)."""
  parser = argparse.ArgumentParser(allow_abbrev=False)
  for cls in set(_option_classes()):
    # pylint: disable=protected-access
    cls._add_argparse_args(parser)
  _, unknown = parser.parse_known_args(list(beam_args))
  return unknown


def pipeline_options_for(beam_args):
  """Beam's options of the arguments, and the TensorFlow threads of each
  worker: on the local runner, one worker process per core by default,
  each with its share of the cores."""
  options = pipeline_options.PipelineOptions(list(beam_args))
  standard = options.view_as(pipeline_options.StandardOptions)
  if standard.runner not in (None, "DirectRunner", "direct"):
    return options, 0
  direct = options.view_as(pipeline_options.DirectOptions)
  if not direct.direct_num_workers:
    direct.direct_num_workers = machine.available_cores()
  if direct.direct_num_workers > 1 and direct.direct_running_mode == (
      "in_memory"):
    direct.direct_running_mode = "multi_processing"
  # Local worker processes import the project's modules from here.
  os.environ["PYTHONPATH"] = os.pathsep.join(
      [ROOT] + [p for p in os.environ.get("PYTHONPATH", "").split(os.pathsep)
                if p and p != ROOT])
  return options, max(1, machine.available_cores() //
                      direct.direct_num_workers)


def run(export_dir, inputs, output_dir, input_format="text",
        lines_per_shard=DEFAULT_LINES_PER_SHARD, batch_size=32,
        conll_output=False, beam_args=(), log=None, repair_tags=False,
        output_format=None, backend="saved_model", use_bf16=False,
        skip_bad_mentions=False, write_types="", linker_dir=""):
  """Plans and runs the tagging pipeline; returns the job's counts.

  Args:
    output_format: with a document format, the formats of the documents
      written (document_output.OUTPUT_FORMATS names, comma-separated;
      default: the input's).
    backend, use_bf16: what runs the model (saved_model_backend.BACKENDS)
      and, for the SavedModel, oneDNN's bfloat16 rewrite; checked here,
      before the workers start.
    skip_bad_mentions: with PubTator or BioC input, skip a mention that
      does not fit its document (else the job is refused before it starts,
      as the other doors refuse such a file; see check_input_mentions).
    write_types: the types to write, comma-separated (all by default);
      part of the plan, so a resumed job writes the same.
    linker_dir: linker folders, comma-separated, loaded once per worker;
      checked against the export's types before the workers start, and
      part of the plan.
  """
  tagging_options.check(batch_size, export_dir, backend, use_bf16)
  output_formats = document_output.output_formats(output_format,
                                                  input_format, inputs[0])
  log = log or (lambda line: print(line, file=sys.stderr))
  model_input = saved_model_backend.export_input(export_dir,
                                                 skip_bad_mentions)
  assumed = model_input.assumed_line()
  if assumed:
    log(assumed)
  linker_dirs = tuple(mention_linking.parse_folders(linker_dir))
  files, pieces = plan_job(model_input, inputs, output_dir, input_format,
                           lines_per_shard, conll_output, repair_tags,
                           output_formats, backend, use_bf16, log,
                           write_types, linker_dirs)
  num_shards = len(pieces)
  todo = [p for p in pieces if not tf.io.gfile.exists(corpus_shards.shard_path(
      output_dir, "entities", p.index, num_shards, "jsonl"))]
  known = [p.num_lines for p in pieces]
  total_lines = None if None in known else sum(known)
  log("%d file(s), %d shard(s)%s; %d to tag, %d done before" % (
      len(files), num_shards,
      ", %s lines" % "{:,}".format(total_lines) if total_lines else "",
      len(todo), num_shards - len(todo)))
  options, threads = pipeline_options_for(beam_args)
  tag_options = TagOptions(export_dir, output_dir, num_shards, input_format,
                           batch_size, conll_output, threads, repair_tags,
                           tuple(output_formats), backend, use_bf16,
                           model_input, write_types, linker_dirs)
  start = time.time()
  stop = threading.Event()
  threading.Thread(target=watch_progress, args=(
      output_dir, num_shards, total_lines, stop, log,
      "documents" if formats.is_document_format(input_format) else "lines"),
                   daemon=True).start()
  try:
    if todo:
      with beam.Pipeline(options=options) as pipeline:
        _ = (pipeline
             | "Shards" >> beam.Create([tuple(p) for p in todo])
             | "Spread" >> beam.Reshuffle()
             | "Tag" >> beam.ParDo(TagPieceFn(tag_options)))
  finally:
    stop.set()
  total = corpus_shards.sum_counts(corpus_shards.read_counts(
      output_dir, p.index, num_shards) for p in pieces)
  total["shards"] = num_shards
  total["seconds"] = round(time.time() - start, 1)
  file_io.atomic_write_text(os.path.join(output_dir, SUMMARY_NAME),
                            json.dumps(total, indent=1) + "\n")
  return total
