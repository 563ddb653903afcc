# coding=utf-8
r"""Tags a large corpus with an exported model, on Apache Beam.

    python tag_corpus.py --export_dir=EXPORT --input='pubmed/*.txt.gz' \
      --output_dir=OUT

EXPORT is a folder written by `run_ner.py --export_dir`. The input is one or
more files or globs (--input may be repeated or comma-separated) of plain
text, one sentence, paragraph or document per line (--input_format=text,
the default; a blank line between documents), or CoNLL files
(--input_format=conll; -DOCSTART- between documents); names ending in .gz
are decompressed. OUT gets:

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

Documents (--input_format=pubmed for PubMed/MEDLINE XML as NCBI ships it,
.xml or .xml.gz; pubtator; bioc) are tagged whole, a file a shard: every
article's title and abstract, split into sentences as the model was
trained. entities-*.jsonl then holds a line per document ({"id": PMID,
"passages": [{"type", "offset", "text"}], "entities": [...]}, offsets in
the document, as PubTator counts them), and documents-*.pubtator (or with
--output_format=bioc_xml,bioc_json, documents-*.bioc.xml / .bioc.json) the
documents with their predicted mentions. An article without a PMID, or
without title and abstract, is a dead letter, as is the rest of a file
whose XML stops being well formed.

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
import os
import sys

from bert_ner import errors
from bert_ner.tagging import beam_tagging
from bert_ner.tagging import tagging_options


def parse_args(argv):
  parser = argparse.ArgumentParser(
      description="Tags a corpus with a run_ner.py export on Apache Beam. "
      "Arguments it does not know are Beam pipeline options (--runner, "
      "--direct_num_workers, --project, ...).",
      # No abbreviations: a shortened flag must not pass for another one.
      allow_abbrev=False)
  parser.add_argument("--export_dir", required=True,
                      help="The folder run_ner.py --export_dir wrote.")
  parser.add_argument("--input", required=True, action="append",
                      help="Input files or globs, comma-separated; may be "
                      "repeated. .gz is decompressed.")
  parser.add_argument("--output_dir", required=True,
                      help="Where the shards are written.")
  parser.add_argument("--lines_per_shard", type=int,
                      default=beam_tagging.DEFAULT_LINES_PER_SHARD,
                      help="Lines of a plain input file per shard (a unit "
                      "of work, of output and of restart).")
  parser.add_argument("--conll_output", action="store_true",
                      help="Also write predictions-*.conll.")
  tagging_options.add_to_parser(parser)
  args, beam_args = parser.parse_known_args(argv)
  unknown = beam_tagging.unknown_beam_options(beam_args)
  if any(arg.split("=")[0] == "--entity_types" for arg in unknown):
    parser.error(tagging_options.RENAMED_ENTITY_TYPES)
  if unknown:
    parser.error("%s: neither an argument of tag_corpus.py nor a Beam "
                 "pipeline option (see --help)" % " ".join(unknown))
  args.input = [p for value in args.input for p in value.split(",") if p]
  return args, beam_args


def main(argv=None):
  args, beam_args = parse_args(sys.argv[1:] if argv is None else argv)
  return errors.run("tag_corpus.py", tag, args, beam_args)


def tag(args, beam_args):
  """Runs the job of the parsed arguments; prints its counts."""
  total = beam_tagging.run(args.export_dir, args.input, args.output_dir,
                           args.input_format, args.lines_per_shard,
                           args.batch_size, args.conll_output, beam_args,
                           repair_tags=args.repair_tags,
                           output_format=args.output_format,
                           backend=args.backend, use_bf16=args.use_bf16,
                           skip_bad_mentions=args.skip_bad_mentions,
                           write_types=args.write_types,
                           linker_dir=args.linker_dir)
  if not (total["sentences"] or total["documents"]):
    sys.stderr.write(
        "tag_corpus.py: error: no sentence was tagged: the input holds %s "
        "line(s)%s.\n" % ("{:,}".format(total["lines"]), (
            ", all in the dead letters (see %s/dead_letter-*.jsonl)" %
            args.output_dir) if total["dead_letters"] else ""))
    return 1
  print("Tagged %s (%s sentences, %s words, %s entities) in %d "
        "shard(s) to %s in %.1f s; %d dead letter(s)%s" % (
            "%s documents" % "{:,}".format(total["documents"])
            if total["documents"] else
            "%s lines" % "{:,}".format(total["lines"]),
            "{:,}".format(total["sentences"]),
            "{:,}".format(total["words"]), "{:,}".format(total["entities"]),
            total["shards"], args.output_dir, total["seconds"],
            total["dead_letters"],
            " (see dead_letter-*.jsonl)" if total["dead_letters"] else ""))
  return 0


if __name__ == "__main__":
  os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
  sys.exit(main())
