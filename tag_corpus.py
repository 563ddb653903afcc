# coding=utf-8
r"""Tags a large corpus with an exported model, on Apache Beam.

    python tag_corpus.py --export_dir=EXPORT --input='pubmed/*.txt.gz' \
      --output_dir=OUT

EXPORT is a folder written by `run_ner.py --export_dir`. The input is one or
more files or globs (--input may be repeated or comma-separated) of plain
text, one sentence, paragraph or document per line (--input_format=text,
the default), or CoNLL files (--input_format=conll); names ending in .gz are
decompressed. OUT gets:

  entities-NNNNN-of-MMMMM.jsonl  per input line (or CoNLL sentence):
      {"id": "FILE:LINE", "text": ..., "entities": [{"start", "end",
      "type", "text", "score"}]}; character offsets into "text" (for CoNLL,
      the words joined by single spaces); score is the mean probability of
      the entity's predicted tags. The entities are those that
      predict_saved_model.py finds in the same file.
  predictions-NNNNN-of-MMMMM.conll  with --conll_output: "word label" (or
      "word gold label") per word.
  dead_letter-NNNNN-of-MMMMM.jsonl  the lines that could not be tagged
      (bytes that are not UTF-8, a CoNLL line with the wrong columns), with
      the file, line, reason and value; the rest is tagged.
  summary.json  counts of the whole job, also printed at the end.

Work is planned as shards of --lines_per_shard lines of plain input files
(a .gz file is one shard), tagged in parallel by the workers, each of which
loads the SavedModel once. A shard's files are written under temporary
names and renamed when whole, its entities file last: a job that is killed
and started again skips the shards that are done and redoes the others.

Runs on Beam's local runner by default, with one worker process per core
(--direct_num_workers); any other Beam runner takes the usual pipeline
options, for example --runner=DataflowRunner --project=... --region=...
--temp_location=gs://... --setup_file=./setup.py (see the README).
"""

import argparse
import collections
import contextlib
import glob
import json
import os
import sys
import threading
import time

import apache_beam as beam
from apache_beam.io.filesystem import CompressionTypes
from apache_beam.io.filesystems import FileSystems
from apache_beam.options import pipeline_options

ROOT = os.path.dirname(os.path.abspath(__file__))

DEFAULT_LINES_PER_SHARD = 20000
SUMMARY_NAME = "summary.json"
PLAN_NAME = "plan.json"
# Piece of an input file: lines [first_line, first_line + num_lines) at bytes
# [start, end) of a plain file; end and num_lines are None for a whole
# compressed file.
Piece = collections.namedtuple(
    "Piece", ["index", "path", "start", "end", "first_line", "num_lines"])
# Keys of a shard's counts.
COUNT_KEYS = ("lines", "sentences", "words", "entities", "dead_letters")


def shard_path(output_dir, kind, index, num_shards, extension):
  """OUT/entities-00003-of-00012.jsonl and its siblings."""
  return os.path.join(output_dir, "%s-%05d-of-%05d.%s" % (
      kind, index, num_shards, extension))


def expand_inputs(patterns):
  """Sorted, de-duplicated files of the given paths and globs.

  Raises:
    ValueError: naming a pattern that matches no file.
  """
  files = []
  for pattern in patterns:
    matched = sorted(m.path for m in
                     FileSystems.match([pattern])[0].metadata_list)
    if not matched:
      raise ValueError("--input %s matches no file." % pattern)
    files.extend(p for p in matched if p not in files)
  return files


def _open(path, compressed):
  return FileSystems.open(
      path, compression_type=(CompressionTypes.AUTO if compressed else
                              CompressionTypes.UNCOMPRESSED))


def is_compressed(path):
  return path.endswith(".gz")


def plan_pieces(files, input_format, lines_per_shard):
  """Splits the input files into pieces of about lines_per_shard lines.

  A plain file is read once to find the byte offsets of the cuts (for
  CoNLL, at the first blank line after lines_per_shard lines, so that no
  sentence is cut); a compressed file is one piece.

  Returns:
    list of Piece, numbered in file order.
  """
  pieces = []
  for path in files:
    if is_compressed(path):
      pieces.append(Piece(len(pieces), path, 0, None, 1, None))
      continue
    start = offset = 0
    first_line = number = 1
    with _open(path, compressed=False) as f:
      for raw in iter(f.readline, b""):
        offset += len(raw)
        lines_in_piece = number - first_line + 1
        if lines_in_piece >= lines_per_shard and (
            input_format == "text" or not raw.strip()):
          pieces.append(Piece(len(pieces), path, start, offset, first_line,
                              lines_in_piece))
          start, first_line = offset, number + 1
        number += 1
    if offset > start or start == 0:
      pieces.append(Piece(len(pieces), path, start, offset, first_line,
                          number - first_line))
  return pieces


def read_piece(piece):
  """Yields (line number, bytes without line end) of a piece."""
  import tokenization  # pylint: disable=g-import-not-at-top
  with _open(piece.path, compressed=piece.end is None) as f:
    if piece.end is not None and piece.start:
      f.seek(piece.start)
    offset = piece.start
    number = piece.first_line
    for raw in iter(f.readline, b""):
      if piece.end is not None and offset >= piece.end:
        break
      offset += len(raw)
      yield number, tokenization.strip_line_end(raw, number)
      number += 1


def _dead_letter(path, number, reason, raw):
  return {"file": path, "line": number, "reason": reason,
          "value": raw.decode("utf-8", "replace")[:200]}


def parse_piece(piece, input_format):
  """The examples of a piece, and its lines that cannot be tagged.

  Yields:
    ("example", InputExample with an "id" attribute) or ("dead", dict).
  """
  import ner_data  # pylint: disable=g-import-not-at-top
  if input_format == "text":
    for number, raw in read_piece(piece):
      try:
        line = raw.decode("utf-8")
      except UnicodeDecodeError as e:
        yield "dead", _dead_letter(piece.path, number, "bytes that are not "
                                   "UTF-8 (%s)" % e.reason, raw)
        continue
      example = ner_data.text_example(line, number - 1, number)
      example.id = "%s:%d" % (piece.path, number)
      yield "example", example
    return
  for item in _conll_sentences(piece):
    yield item


def _conll_sentences(piece):
  """CoNLL sentences of a piece; a sentence with a bad line is a dead letter
  (reason and line), the others are examples with their words in "text"."""
  import ner_data  # pylint: disable=g-import-not-at-top
  num_columns = None
  rows, bad, first = [], None, None

  def flush():
    if bad:
      return "dead", bad
    words = [r[0] for r in rows]
    labels = [r[-1] for r in rows] if num_columns > 1 else None
    example = ner_data.InputExample("input", words, labels, first)
    offsets, position = [], 0
    for word in words:
      offsets.append((position, position + len(word)))
      position += len(word) + 1
    example.text, example.offsets = " ".join(words), offsets
    example.id = "%s:%d" % (piece.path, first)
    return "example", example

  for number, raw in read_piece(piece):
    try:
      line = raw.decode("utf-8")
    except UnicodeDecodeError as e:
      bad = bad or _dead_letter(piece.path, number, "bytes that are not "
                                "UTF-8 (%s)" % e.reason, raw)
      first = first or number
      continue
    fields = line.split() if line.strip() else None
    if fields and fields[0] == ner_data.DOCSTART:
      fields = None
    if not fields:
      if rows or bad:
        yield flush()
      rows, bad, first = [], None, None
      continue
    first = first or number
    if num_columns is None:
      num_columns = len(fields)
    if len(fields) != num_columns:
      bad = bad or _dead_letter(
          piece.path, number, "%d column(s) where the file's first token "
          "line has %d" % (len(fields), num_columns), raw)
      continue
    rows.append(fields)
  if rows or bad:
    yield flush()


def entity_records(example, labels, scores):
  """The entities of a tagged example with character offsets and scores."""
  import conlleval  # pylint: disable=g-import-not-at-top
  out = []
  for type_, first, last in conlleval.chunks(labels):
    start, end = example.offsets[first][0], example.offsets[last - 1][1]
    out.append({"start": start, "end": end, "type": type_,
                "text": example.text[start:end],
                "score": round(sum(scores[first:last]) / (last - first), 4)})
  return out


class TagPiece(object):
  """Tags one piece per call and writes its shard files; the SavedModel is
  loaded once per worker (see TagPieceFn)."""

  def __init__(self, export_dir, output_dir, num_shards, input_format,
               batch_size, conll_output, threads, repair_tags=False):
    self.export_dir = export_dir
    self.repair_tags = repair_tags
    self.output_dir = output_dir
    self.num_shards = num_shards
    self.input_format = input_format
    self.batch_size = batch_size
    self.conll_output = conll_output
    self.threads = threads
    self.tagger = None

  def setup(self):
    if ROOT not in sys.path:
      sys.path.insert(0, ROOT)
    import tensorflow as tf  # pylint: disable=g-import-not-at-top
    import predict_saved_model  # pylint: disable=g-import-not-at-top
    if self.threads:
      try:
        tf.config.threading.set_intra_op_parallelism_threads(self.threads)
        tf.config.threading.set_inter_op_parallelism_threads(self.threads)
      except RuntimeError:
        pass  # TensorFlow already started in this worker.
    self.tagger = predict_saved_model.ExportedTagger(self.export_dir,
                                                     self.repair_tags)

  def path(self, kind, index, extension):
    return shard_path(self.output_dir, kind, index, self.num_shards,
                      extension)

  def process(self, piece):
    """Tags `piece` unless its shard is done; yields its counts."""
    import contracts  # pylint: disable=g-import-not-at-top
    import ner_data  # pylint: disable=g-import-not-at-top
    import tensorflow as tf  # pylint: disable=g-import-not-at-top
    entities_path = self.path("entities", piece.index, "jsonl")
    if tf.io.gfile.exists(entities_path):
      yield read_counts(self.output_dir, piece.index, self.num_shards)
      return
    if self.tagger is None:
      self.setup()
    counts = collections.Counter({k: 0 for k in COUNT_KEYS})
    # Entered first, so renamed last: the entities file marks the shard as
    # done, and every other file of the shard is whole before it.
    with contextlib.ExitStack() as files:
      jsonl = files.enter_context(contracts.AtomicTextFile(entities_path))
      dead = files.enter_context(contracts.AtomicTextFile(
          self.path("dead_letter", piece.index, "jsonl")))
      conll = (files.enter_context(contracts.AtomicTextFile(
          self.path("predictions", piece.index, "conll")))
               if self.conll_output else None)
      counts_file = files.enter_context(contracts.AtomicTextFile(
          self.path("counts", piece.index, "json")))

      def examples():
        for kind, item in parse_piece(piece, self.input_format):
          counts["lines"] += 1
          if kind == "dead":
            counts["dead_letters"] += 1
            dead.write(json.dumps(item, ensure_ascii=False) + "\n")
          else:
            yield item

      for example, labels, scores in self.tagger.tag_stream(
          examples(), self.batch_size, with_scores=True):
        entities = entity_records(example, labels, scores)
        counts["sentences"] += 1
        counts["words"] += len(example.words)
        counts["entities"] += len(entities)
        jsonl.write(json.dumps({"id": example.id, "text": example.text,
                                "entities": entities},
                               ensure_ascii=False) + "\n")
        if conll:
          conll.write(ner_data.conll_lines(example, labels))
      counts_file.write(json.dumps(dict(counts)) + "\n")
    yield dict(counts)


def read_counts(output_dir, index, num_shards):
  import tensorflow as tf  # pylint: disable=g-import-not-at-top
  with tf.io.gfile.GFile(shard_path(output_dir, "counts", index, num_shards,
                                    "json")) as f:
    return json.load(f)


class TagPieceFn(beam.DoFn):
  """TagPiece as a Beam DoFn: setup() once per worker, process() per piece."""

  def __init__(self, *args):
    super().__init__()
    self.tagger = TagPiece(*args)

  def setup(self):
    self.tagger.setup()

  def process(self, element):
    return self.tagger.process(Piece(*element))


def sum_counts(all_counts):
  total = {k: 0 for k in COUNT_KEYS}
  for counts in all_counts:
    for key in COUNT_KEYS:
      total[key] += counts.get(key, 0)
  return total


def check_plan(output_dir, plan):
  """Writes the plan to OUT/plan.json, or checks that a job started before
  had the same one (so finished shards are reused only for the same job).

  Raises:
    ValueError: OUT holds shards of another job.
  """
  import contracts  # pylint: disable=g-import-not-at-top
  path = os.path.join(output_dir, PLAN_NAME)
  if contracts.previous_plan(path, plan) is not None:
    raise ValueError(
        "%s holds the output of another tagging job (other inputs, model "
        "or settings; see %s). Use a new --output_dir, or remove it." %
        (output_dir, path))


def watch_progress(output_dir, num_shards, total_lines, stop, log):
  """Logs finished shards and lines every 30 s until `stop` is set."""
  import progress  # pylint: disable=g-import-not-at-top
  import tensorflow as tf  # pylint: disable=g-import-not-at-top
  lines = progress.Progress("Tagged", "lines", total_lines, log=log)
  seen = set()
  while not stop.wait(progress.LOG_EVERY_SECONDS):
    done = tf.io.gfile.glob(os.path.join(output_dir, "entities-*.jsonl"))
    for name in done:
      if name not in seen:
        seen.add(name)
        index = int(os.path.basename(name).split("-")[1])
        lines.count += read_counts(output_dir, index, num_shards)["lines"]
    log("%s; %d of %d shards" % (lines.line(), len(seen), num_shards))


def run(export_dir, inputs, output_dir, input_format="text",
        lines_per_shard=DEFAULT_LINES_PER_SHARD, batch_size=32,
        conll_output=False, beam_args=(), log=None, repair_tags=False):
  """Plans and runs the tagging pipeline; returns the job's counts."""
  if ROOT not in sys.path:
    sys.path.insert(0, ROOT)
  import contracts  # pylint: disable=g-import-not-at-top
  import ner_data  # pylint: disable=g-import-not-at-top
  import predict_saved_model  # pylint: disable=g-import-not-at-top
  import tensorflow as tf  # pylint: disable=g-import-not-at-top
  log = log or (lambda line: print(line, file=sys.stderr))

  if batch_size < 1:
    raise ValueError("--batch_size must be positive, got %d." % batch_size)
  if lines_per_shard < 1:
    raise ValueError("--lines_per_shard must be positive, got %d." %
                     lines_per_shard)
  predict_saved_model.check_export(export_dir)
  files = expand_inputs(inputs)
  pieces = plan_pieces(files, input_format, lines_per_shard)
  plan = {"export_dir": os.path.abspath(export_dir), "files": files,
          "input_format": input_format, "lines_per_shard": lines_per_shard,
          "conll_output": bool(conll_output), "num_shards": len(pieces)}
  if repair_tags:
    plan["repair_tags"] = True
  check_plan(output_dir, plan)
  num_shards = len(pieces)
  if "://" not in output_dir:
    # Left by a killed run of this job (no process of this machine writes
    # them any more).
    for stale in glob.glob(os.path.join(output_dir, "*.tmp-*")):
      if not contracts.written_by_live_process(stale):
        os.remove(stale)
  todo = [p for p in pieces if not tf.io.gfile.exists(shard_path(
      output_dir, "entities", p.index, num_shards, "jsonl"))]
  known = [p.num_lines for p in pieces]
  total_lines = None if None in known else sum(known)
  log("%d file(s), %d shard(s)%s; %d to tag, %d done before" % (
      len(files), num_shards,
      ", %s lines" % "{:,}".format(total_lines) if total_lines else "",
      len(todo), num_shards - len(todo)))

  options = pipeline_options.PipelineOptions(list(beam_args))
  standard = options.view_as(pipeline_options.StandardOptions)
  threads = 0
  if standard.runner in (None, "DirectRunner", "direct"):
    direct = options.view_as(pipeline_options.DirectOptions)
    if not direct.direct_num_workers:
      direct.direct_num_workers = ner_data.available_cores()
    if direct.direct_num_workers > 1 and direct.direct_running_mode == (
        "in_memory"):
      direct.direct_running_mode = "multi_processing"
    # Local workers share this machine's cores.
    threads = max(1, ner_data.available_cores() //
                  direct.direct_num_workers)
    # Local worker processes import the project's modules from here.
    os.environ["PYTHONPATH"] = os.pathsep.join(
        [ROOT] + [p for p in os.environ.get("PYTHONPATH", "").split(os.pathsep)
                  if p and p != ROOT])

  start = time.time()
  stop = threading.Event()
  watcher = threading.Thread(
      target=watch_progress, args=(output_dir, num_shards, total_lines, stop,
                                   log), daemon=True)
  watcher.start()
  try:
    if todo:
      with beam.Pipeline(options=options) as pipeline:
        _ = (pipeline
             | "Shards" >> beam.Create([tuple(p) for p in todo])
             | "Spread" >> beam.Reshuffle()
             | "Tag" >> beam.ParDo(TagPieceFn(
                 export_dir, output_dir, num_shards, input_format, batch_size,
                 conll_output, threads, repair_tags)))
  finally:
    stop.set()
  total = sum_counts(read_counts(output_dir, p.index, num_shards)
                     for p in pieces)
  total["shards"] = num_shards
  total["seconds"] = round(time.time() - start, 1)
  contracts.atomic_write_text(os.path.join(output_dir, SUMMARY_NAME),
                              json.dumps(total, indent=1) + "\n")
  return total


def parse_args(argv):
  parser = argparse.ArgumentParser(
      description="Tags a corpus with a run_ner.py export on Apache Beam. "
      "Arguments it does not know are Beam pipeline options (--runner, "
      "--direct_num_workers, --project, ...).")
  parser.add_argument("--export_dir", required=True,
                      help="The folder run_ner.py --export_dir wrote.")
  parser.add_argument("--input", required=True, action="append",
                      help="Input files or globs, comma-separated; may be "
                      "repeated. .gz is decompressed.")
  parser.add_argument("--output_dir", required=True,
                      help="Where the shards are written.")
  parser.add_argument("--input_format", default="text",
                      choices=["text", "conll"],
                      help="text: one sentence, paragraph or document per "
                      "line; conll: one word per line, blank lines between "
                      "sentences.")
  parser.add_argument("--lines_per_shard", type=int,
                      default=DEFAULT_LINES_PER_SHARD,
                      help="Lines of a plain input file per shard (a unit "
                      "of work, of output and of restart).")
  parser.add_argument("--batch_size", type=int, default=32,
                      help="Windows per call of the model.")
  parser.add_argument("--conll_output", action="store_true",
                      help="Also write predictions-*.conll.")
  parser.add_argument("--repair_tags", action="store_true",
                      help="Decode valid IOB2 tags from the per-word "
                      "probabilities (no I-x after O or another type), as "
                      "run_ner.py --repair_tags does.")
  args, beam_args = parser.parse_known_args(argv)
  args.input = [p for value in args.input for p in value.split(",") if p]
  return args, beam_args


def main(argv=None):
  args, beam_args = parse_args(sys.argv[1:] if argv is None else argv)
  try:
    total = run(args.export_dir, args.input, args.output_dir,
                args.input_format, args.lines_per_shard, args.batch_size,
                args.conll_output, beam_args,
                repair_tags=args.repair_tags)
  except ValueError as e:
    sys.stderr.write("tag_corpus.py: error: %s\n" % e)
    return 2
  print("Tagged %s lines (%s sentences, %s words, %s entities) in %d "
        "shard(s) to %s in %.1f s; %d dead letter(s)%s" % (
            "{:,}".format(total["lines"]), "{:,}".format(total["sentences"]),
            "{:,}".format(total["words"]), "{:,}".format(total["entities"]),
            total["shards"], args.output_dir, total["seconds"],
            total["dead_letters"],
            " (see dead_letter-*.jsonl)" if total["dead_letters"] else ""))
  return 0


if __name__ == "__main__":
  os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
  # Run as the module tag_corpus, not __main__, so that the workers unpickle
  # TagPieceFn by importing this file.
  sys.path.insert(0, ROOT)
  import tag_corpus  # pylint: disable=g-import-not-at-top,import-self
  sys.exit(tag_corpus.main())
