# coding=utf-8
r"""Fine-tunes BERT for named-entity recognition (token classification).

    python run_ner.py --do_train --do_eval --do_predict --data_dir DIR \
      --bert_config_file .../bert_config.json --vocab_file .../vocab.txt \
      --init_checkpoint .../bert_model.ckpt --output_dir OUT

A TPUEstimator job in TensorFlow 1.x style (tf.compat.v1, graph mode) that
runs on CPU, GPU or TPU. Every input word gets a prediction (long sentences
are split into overlapping windows), and dev/test are scored at entity level
with conlleval's rules next to the token-level figures.
"""

import os
import sys

if __name__ == "__main__":
  # Before TensorFlow loads: hide its C++ start-up notices (CUDA not found...).
  os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

from absl import app
from absl import flags
import tensorflow.compat.v1 as tf
from tensorflow.python.util import deprecation

from bert_ner import errors
from bert_ner.model import ner_model
from bert_ner import model_settings
from bert_ner.run import corpus_scores
from bert_ner.run import divergence
from bert_ner.run import flag_checks
from bert_ner.corpora import formats
from bert_ner.run import job
from bert_ner.run import job_lock
from bert_ner.run import model_files
from bert_ner.run import run_settings
from bert_ner import tfrecords

flags.DEFINE_string("data_dir", None,
                    "Folder with the corpus: train/dev/test files found by "
                    "their usual names (train.tsv, dev.tsv or devel.tsv, "
                    "test.tsv, .txt, BioBERT's train_dev.tsv).")
flags.DEFINE_string("train_file", None, "Training file (overrides data_dir).")
flags.DEFINE_string("dev_file", None, "Dev file (overrides data_dir).")
flags.DEFINE_string("test_file", None,
                    "Test/predict file (overrides data_dir); one column "
                    "(words only) is allowed.")
flags.DEFINE_string("predict_file", None,
                    "File to predict with --do_predict (instead of the test "
                    "file); see --input_format.")
flags.DEFINE_enum("input_format", "conll", list(formats.INPUT_FORMATS),
                  "conll (the default): train/dev/test in CoNLL columns. "
                  "pubtator or bioc (BioC XML, or BioC JSON for a .json "
                  "file): every split as the corpus is released, mentions "
                  "by character offsets (see --entity_types, --sentences); "
                  "scored by offsets too. text or pubmed (PubMed XML): the "
                  "predict file only, plain text with one sentence or "
                  "paragraph per line (entities with character offsets go "
                  "to test_entities.jsonl), or PubMed articles.")
flags.DEFINE_bool("skip_bad_mentions", False,
                  "A mention whose offsets fall outside its passage or "
                  "whose text differs from the text there is skipped and "
                  "counted, instead of an error.")
flags.DEFINE_string("output_format", None,
                    "With a document format: the formats of the predicted "
                    "documents, comma-separated: pubtator, bioc_xml, "
                    "bioc_json (default: the input's); written to "
                    "OUT/<split>_predictions.<pubtator|bioc.xml|bioc.json>.")
flags.DEFINE_string("linker_dir", None,
                    "Linker folders (run_linker.py --export_dir), "
                    "comma-separated: the mentions of the splits written are "
                    "linked to concept ids (PubTator's id column, BioC's "
                    "identifier infon, the entities' \"id\"), and a split "
                    "with gold ids is also scored by span and id.")
flags.DEFINE_string("corpora", None,
                    "A JSON file listing several corpora to train one model "
                    "on, each with its format, files and the entity types it "
                    "annotates (its scope; see docs/corpora.md); instead of "
                    "--data_dir and the file flags.")
flags.DEFINE_float("corpus_sampling_alpha", 1.0,
                   "With --corpora: corpus i gives N * n_i^alpha / sum_j "
                   "n_j^alpha of an epoch's N sentences; 1 takes each corpus "
                   "as it is, below 1 draws the small ones more often.")
flags.DEFINE_string("labels_file", None,
                    "Labels, one per line, instead of those of the training "
                    "file.")
model_files.define_model_flags(flags)
flags.DEFINE_string("output_dir", None,
                    "Where checkpoints, records, predictions and results go.")
flags.DEFINE_integer("preprocess_processes", 0,
                     "Processes that convert the corpus files into TFRecord "
                     "shards; 0 means the cores this process may use.")
flags.DEFINE_integer("shard_sentences", tfrecords.DEFAULT_SHARD_SENTENCES,
                     "Sentences per TFRecord shard. Eval and predict sort "
                     "windows by length within a shard, and prediction holds "
                     "about one shard in memory.")
flags.DEFINE_bool("do_train", False, "Train on the training file.")
flags.DEFINE_bool("do_eval", False, "Evaluate on the dev file.")
flags.DEFINE_bool("do_predict", False, "Predict the test file.")
flags.DEFINE_bool("train_with_dev", False,
                  "Train on the training and dev files together (of each "
                  "corpus, read in memory, any format), as BioBERT's final "
                  "runs do once the epochs are chosen on dev; excludes "
                  "--do_eval.")
flags.DEFINE_integer("train_batch_size", 32, "Training batch size.")
flags.DEFINE_integer("eval_batch_size", 32, "Eval batch size.")
flags.DEFINE_integer("predict_batch_size", 32, "Predict batch size.")
flags.DEFINE_float("learning_rate", 5e-5, "Peak learning rate of Adam.")
flags.DEFINE_float("num_train_epochs", 3.0, "Training epochs.")
flags.DEFINE_integer("num_train_steps", 0,
                     "If > 0, train this many steps instead of "
                     "num_train_epochs (the schedule is sized to it).")
flags.DEFINE_float("warmup_proportion", 0.1,
                   "Share of training with linear learning-rate warmup.")
flags.DEFINE_integer("save_checkpoints_steps", 1000,
                     "Steps between checkpoints.")
flags.DEFINE_integer("keep_checkpoint_max", 5, "Checkpoints kept.")
flags.DEFINE_integer("iterations_per_loop", 1000,
                     "Steps per TPU loop (per host call).")
flags.DEFINE_integer("seed", 42, "Random seed (graph, shuffling).")
flags.DEFINE_integer("log_step_count_steps", 50,
                     "Steps between loss/speed log lines.")
flags.DEFINE_integer("num_intra_threads", 0,
                     "Threads inside one op; 0 = one per core this process "
                     "may use.")
flags.DEFINE_integer("num_inter_threads", 0,
                     "Ops run in parallel; 0 = 2.")
flags.DEFINE_bool("repair_tags", False,
                  "With --head=softmax: decode valid IOB2 tags from the "
                  "per-word probabilities (the most probable sequence with "
                  "no I-x after O, after another type or first in a "
                  "sentence) instead of each word's argmax.")
flags.DEFINE_bool("use_fp16", False,
                  "Mixed precision for GPUs: float16 matmuls with dynamic "
                  "loss scaling; variables, layer norm and softmax stay "
                  "float32.")
flags.DEFINE_bool("use_bf16", False,
                  "Mixed precision in bfloat16 (no loss scaling needed; "
                  "variables stay float32): on TPUs and GPUs the graph's "
                  "matmuls; on a CPU with native bfloat16 (avx512_bf16 or "
                  "amx_bf16: Cooper Lake, Sapphire Rapids, Zen 4) also "
                  "oneDNN's bfloat16 rewrite of the graph. An error on a "
                  "CPU without it, where bfloat16 would be emulated.")
flags.DEFINE_bool("static_shapes", False,
                  "Batches of [batch_size, max_seq_length], eval/predict "
                  "padded with weight-0 examples, as on TPU (where it is "
                  "always on); lets XLA compile once.")
flags.DEFINE_float("divergence_factor", divergence.DEFAULT_FACTOR,
                   "Stop training, with an error naming the step and the "
                   "learning rate, when the loss exceeds this many times "
                   "the run's start (the larger of its first loss and "
                   "ln(labels), a uniform guess's) or is NaN or infinite; "
                   "the checkpoints from that step on are removed. 0 stops "
                   "on NaN and infinity only.")
flags.DEFINE_integer("eval_every_steps", 0,
                     "With --do_train --do_eval: score dev (entity F1) every "
                     "N steps, keep the best checkpoint in OUTPUT_DIR/best; "
                     "0 = every --eval_every_epochs if set, else every "
                     "save_checkpoints_steps.")
flags.DEFINE_float("eval_every_epochs", 0,
                   "Like --eval_every_steps, in epochs of the training data "
                   "(1 = once per epoch); 0 = off.")
flags.DEFINE_integer("early_stopping_evals", 0,
                     "Stop training after this many dev evaluations without "
                     "a better entity F1; 0 = never.")
flags.DEFINE_enum("predict_with", "best", ["best", "last"],
                  "Checkpoint for eval/predict after training with dev "
                  "scoring: the best by dev entity F1, or the last.")
flags.DEFINE_string("export_dir", None,
                    "Write a TF SavedModel of the checkpoint that predicts "
                    "(see --predict_with) here (serving signature: "
                    "input_ids, input_mask, segment_ids, predict_mask -> "
                    "predicted_ids, probabilities), with label_list.txt, "
                    "vocab.txt and tokenizer_config.json beside it; "
                    "predict_saved_model.py tags text with it.")
flags.DEFINE_bool("use_xla", False,
                  "Compile the graph with XLA's JIT (CPU/GPU).")
flags.DEFINE_integer("num_gpus", 0,
                     "Train on this many GPUs of this machine with "
                     "MirroredStrategy (when > 1); --train_batch_size is the "
                     "global batch, split evenly across them.")
flags.DEFINE_string("mirrored_devices", None,
                    "Comma-separated devices for MirroredStrategy (for "
                    "example /gpu:0,/gpu:2, or /cpu:0,/cpu:1 to try it on a "
                    "CPU); overrides --num_gpus.")
flags.DEFINE_bool("multi_worker", False,
                  "Train on several machines with MultiWorkerMirroredStrategy, "
                  "from the TF_CONFIG environment variable; run the same "
                  "command on every worker. The chief (worker 0) writes the "
                  "checkpoints and does eval and predict.")
flags.DEFINE_integer("worker_timeout_secs", 300,
                     "With --multi_worker: how long a worker waits for the "
                     "others (to start, to convert an HF model, and at each "
                     "training step) before it stops with an error naming "
                     "the worker that is missing.")
flags.DEFINE_bool("verbose", False,
                  "Show the Python trace of an error, not just its line "
                  "(as BERT_NER_TRACE=1 does).")
flags.DEFINE_bool("use_tpu", False, "Run on a TPU.")
flags.DEFINE_string("tpu_name", None,
                    "Cloud TPU name or grpc://ip:port address (with "
                    "--use_tpu).")
flags.DEFINE_string("tpu_zone", None, "GCE zone of the Cloud TPU.")
flags.DEFINE_string("gcp_project", None, "GCP project of the Cloud TPU.")
flags.DEFINE_string("master", None, "TensorFlow master URL.")
flags.DEFINE_integer("num_tpu_cores", 8, "TPU cores (with --use_tpu).")

# What shapes the model's input and head, declared once with what is
# saved beside the checkpoints (model_settings.SETTINGS).
model_settings.define_flags(flags)

FLAGS = flags.FLAGS

# Every flag the job reads: those defined above and the model's settings.
FLAG_NAMES = tuple(sorted(
    [f.name for f in FLAGS.get_flags_for_module(sys.modules[__name__])] +
    list(model_settings.FLAG_NAMES) + list(model_files.MODEL_FLAGS)))

# BERT's names, as in Google's run_classifier.py, and the job's entry points.
create_model = ner_model.create_model
model_fn_builder = ner_model.model_fn_builder
run = job.run


def flag_defaults():
  """dict flag name -> default value, for building settings in code."""
  return {name: FLAGS[name].default for name in FLAG_NAMES}


def validate_flags_or_throw(values, given=None):
  """Checks the flag values (dict name -> value) and resolves them into
  RunSettings (see run_settings.py).

  Args:
    given: the flags given on the command line (a predict-only run
      refuses those that contradict the trained model); by default, those
      whose value differs from the default.
  """
  if given is None:
    given = {name for name in values if values[name] != FLAGS[name].default}
  return run_settings.validate_flags_or_throw(values, given)


def flag_values(flag_values_):
  """(dict flag name -> value, the names given on the command line)."""
  return ({name: flag_values_[name].value for name in FLAG_NAMES},
          {name for name in FLAG_NAMES if flag_values_[name].present})


def quiet_tensorflow_logs():
  """One log line per message: TensorFlow's own handler only, and no
  deprecation notices about the estimator API this job uses on purpose."""
  deprecation._PRINT_DEPRECATION_WARNINGS = False  # pylint: disable=protected-access
  tf.get_logger().propagate = False
  tf.logging.set_verbosity(tf.logging.INFO)


def run_from_flags(flag_values_):
  """Checks the flags, then holds the output folder (job_lock.held) while
  the settings are resolved and the job runs; returns {split: results}."""
  values, given = flag_values(flag_values_)
  flag_checks.check_values(values)
  run_settings.check_output_folder(values["output_dir"])
  with job_lock.held(values["output_dir"], run_settings.job_of(values)):
    settings = run_settings.resolve(values, given)
    tf.set_random_seed(settings.seed)
    return run(settings)


def report(results):
  """Prints each split's entity-level figures (corpus_scores.report_lines);
  returns the exit code."""
  for split, figures in results.items():
    for line in corpus_scores.report_lines(split, figures):
      print(line)
  return 0


def main(argv):
  del argv
  quiet_tensorflow_logs()
  # User mistakes and the machine's faults: one line and an exit code
  # (errors.run); --verbose or BERT_NER_TRACE=1 shows the trace.
  return errors.run("run_ner.py", lambda: report(run_from_flags(FLAGS)))


if __name__ == "__main__":
  tf.disable_eager_execution()
  app.run(main)
