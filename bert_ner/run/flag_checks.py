"""The pure checks of a run's flag values: one function per rule or group
of rules, each with its message, run before any I/O (CHECKS, in order),
and the checks against the model's config and vocabulary that the resolve
step calls (run_settings.resolve).

A new flag's check is one function beside its peers, listed in CHECKS.
"""

import os

from bert_ner.corpora import formats
from bert_ner.corpora import offset_conversion
from bert_ner import model_input
from bert_ner.model import partial_labels
from bert_ner.run import cluster
from bert_ner.tagging import document_output
from bert_ner import windowing


def check_actions(v):
  if not (v["do_train"] or v["do_eval"] or v["do_predict"]):
    raise ValueError("At least one of --do_train, --do_eval or --do_predict "
                     "must be set.")
  if not v["output_dir"]:
    raise ValueError("--output_dir is required.")
  if v["predict_file"] and not v["do_predict"]:
    raise ValueError("--predict_file needs --do_predict.")


def check_counts(v):
  for name in ("train_batch_size", "eval_batch_size", "predict_batch_size",
               "save_checkpoints_steps", "keep_checkpoint_max",
               "iterations_per_loop", "log_step_count_steps"):
    if v[name] <= 0:
      raise ValueError("--%s must be positive, got %d." % (name, v[name]))


def check_training(v):
  if not v["do_train"]:
    return
  if v["learning_rate"] <= 0:
    raise ValueError("--learning_rate must be positive.")
  if v["num_train_steps"] < 0 or (v["num_train_steps"] == 0 and
                                  v["num_train_epochs"] <= 0):
    raise ValueError("--num_train_epochs (or --num_train_steps) must be "
                     "positive.")
  if not 0.0 <= v["warmup_proportion"] < 1.0:
    raise ValueError("--warmup_proportion must be in [0, 1).")
  if v["divergence_factor"] < 0:
    raise ValueError("--divergence_factor must be 0 (off) or more, got %g." %
                     v["divergence_factor"])


def check_model_selection(v):
  for name in ("eval_every_steps", "eval_every_epochs",
               "early_stopping_evals"):
    if v[name] < 0:
      raise ValueError("--%s must be 0 or more, got %s." % (name, v[name]))
  if v["eval_every_steps"] and v["eval_every_epochs"]:
    raise ValueError("--eval_every_steps and --eval_every_epochs exclude "
                     "each other; give one.")
  if v["train_with_dev"] and not v["do_train"]:
    raise ValueError("--train_with_dev trains on train + dev: it needs "
                     "--do_train.")
  if v["train_with_dev"] and v["do_eval"]:
    raise ValueError("--train_with_dev trains on the dev file: scoring dev "
                     "too (--do_eval) would score the training data and "
                     "choose the checkpoint by it. Leave out --do_eval, and "
                     "set the epochs chosen on dev before.")


def mirrored_devices(v):
  """The devices of MirroredStrategy (--mirrored_devices, or --num_gpus
  GPUs when more than one), or None."""
  if v["mirrored_devices"]:
    return tuple(d.strip() for d in v["mirrored_devices"].split(",")
                 if d.strip()) or None
  if v["num_gpus"] > 1:
    return tuple("/gpu:%d" % i for i in range(v["num_gpus"]))
  return None


def check_devices(v):
  devices = mirrored_devices(v)
  if devices:
    if v["use_tpu"]:
      raise ValueError("--num_gpus/--mirrored_devices and --use_tpu exclude "
                       "each other.")
    if v["train_batch_size"] % len(devices):
      raise ValueError(
          "--train_batch_size %d (the global batch) must divide evenly over "
          "the %d devices %s." % (v["train_batch_size"], len(devices),
                                  ", ".join(devices)))
  if v["use_fp16"] and v["use_bf16"]:
    raise ValueError("--use_fp16 and --use_bf16 exclude each other.")
  if v["use_tpu"] and not (v["tpu_name"] or v["master"]):
    raise ValueError("--use_tpu needs --tpu_name (or --master).")


def check_multi_worker(v, tf_config):
  """With --multi_worker: TF_CONFIG, and the flags that go with it."""
  if not v["multi_worker"]:
    return
  num_workers = cluster.workers_from_tf_config(tf_config)
  if v["use_tpu"] or mirrored_devices(v):
    raise ValueError("--multi_worker excludes --use_tpu, --num_gpus and "
                     "--mirrored_devices.")
  if v["worker_timeout_secs"] <= 0:
    raise ValueError("--worker_timeout_secs must be positive, got %d." %
                     v["worker_timeout_secs"])
  if v["train_batch_size"] % num_workers:
    raise ValueError("--train_batch_size %d (the global batch) must divide "
                     "evenly over the %d workers of TF_CONFIG." %
                     (v["train_batch_size"], num_workers))


def check_preprocessing(v):
  if v["preprocess_processes"] < 0:
    raise ValueError("--preprocess_processes must be 0 (the cores this "
                     "process may use) or more, got %d." %
                     v["preprocess_processes"])
  if v["shard_sentences"] < 1:
    raise ValueError("--shard_sentences must be positive, got %d." %
                     v["shard_sentences"])
  if v["context_sentences"] < 0:
    raise ValueError("--context_sentences must be 0 or more, got %d." %
                     v["context_sentences"])


def check_head(v, bert_config):
  if v["head"] not in ("softmax", "crf"):
    raise ValueError("--head must be softmax or crf, got %r." % v["head"])
  model_input.check_repair_tags(v["head"], v["repair_tags"])
  if v["context_sentences"] and bert_config.type_vocab_size < 2:
    raise ValueError("--context_sentences marks the context with segment id "
                     "1, but the model has type_vocab_size %d." %
                     bert_config.type_vocab_size)
  if not 1 <= v["feature_layers"] <= bert_config.num_hidden_layers:
    raise ValueError("--feature_layers must be in [1, %d] (the model's "
                     "layers), got %d." % (bert_config.num_hidden_layers,
                                           v["feature_layers"]))


def window_stride(v, bert_config, config_file):
  """The windows' stride (--window_stride or its default), once
  --max_seq_length is checked against the model."""
  if v["max_seq_length"] < 3:
    raise ValueError("--max_seq_length must be at least 3 ([CLS], a piece, "
                     "[SEP]), got %d." % v["max_seq_length"])
  if v["max_seq_length"] > bert_config.max_position_embeddings:
    raise ValueError(
        "--max_seq_length %d exceeds the model's max_position_embeddings %d "
        "(%s)." % (v["max_seq_length"], bert_config.max_position_embeddings,
                   config_file))
  window = v["max_seq_length"] - 2
  stride = v["window_stride"] or windowing.default_window_stride(
      v["max_seq_length"])
  if not 0 < stride <= window:
    raise ValueError("--window_stride must be in [1, max_seq_length - 2 = "
                     "%d], got %d." % (window, stride))
  return stride


def check_vocab(vocab, bert_config, vocab_file, config_file):
  if len(vocab) != bert_config.vocab_size:
    raise ValueError(
        "The vocabulary %s has %d tokens but the config %s says vocab_size "
        "%d: they belong to different models." %
        (vocab_file, len(vocab), config_file, bert_config.vocab_size))


# The checks that need the values alone, in order.
def check_input_format(v):
  """The document-format flags: only with a document format, and valid."""
  fmt = v["input_format"]
  document = formats.is_document_format(fmt)
  for name in ("entity_types", "output_format"):
    if v[name] and not document:
      raise ValueError("--%s needs a document format (--input_format=%s), "
                       "not %s." % (name, "|".join(formats.DOCUMENT_FORMATS),
                                    fmt))
  if v["corpora"]:
    return  # each corpus has its format and types (check_corpora)
  if v["skip_bad_mentions"] and fmt not in formats.TRAINING_FORMATS[1:]:
    raise ValueError("--skip_bad_mentions needs --input_format=pubtator or "
                     "bioc.")
  offset_conversion.parse_entity_types(v["entity_types"])
  document_output.parse_output_formats(v["output_format"])


# What a --corpora file gives for each corpus instead.
CORPUS_FLAGS = ("data_dir", "train_file", "dev_file", "test_file",
                "predict_file", "entity_types", "labels_file", "output_format")


def check_corpora(v):
  """--corpora (its file is read in run_settings), and the flags it
  replaces; --corpus_sampling_alpha and --partial_labels."""
  if v["corpus_sampling_alpha"] <= 0:
    raise ValueError("--corpus_sampling_alpha must be above 0 (1 takes each "
                     "corpus as it is), got %g." % v["corpus_sampling_alpha"])
  if v["partial_labels"] not in partial_labels.MECHANISMS:
    raise ValueError("--partial_labels must be one of %s, got %r." % (
        ", ".join(partial_labels.MECHANISMS), v["partial_labels"]))
  if not v["corpora"]:
    return
  given = [name for name in CORPUS_FLAGS if v[name]]
  if v["input_format"] != "conll":
    given.append("input_format")
  if given:
    raise ValueError("--corpora names each corpus's files, format and types;"
                     " leave out %s." % ", ".join("--" + n for n in given))


CHECKS = (check_actions, check_counts, check_training, check_model_selection,
          check_devices, check_preprocessing, check_corpora,
          check_input_format)


def check_values(values):
  """Every check that needs the flag values alone, before any I/O.

  Raises:
    ValueError: one clear message per problem.
  """
  for check in CHECKS:
    check(values)
  check_multi_worker(values, os.environ.get("TF_CONFIG"))
