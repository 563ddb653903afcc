"""The run's settings: read from the flags' values, checked, resolved.

    settings = validate_flags_or_throw(values)   # values: flag name -> value

Two steps. The checks are pure functions of the values (flag_checks.py).
The resolve step then does the I/O:
the TPU probe, the corpus files, the trained model's settings for a
predict-only run, the output folder, the model's files (an HF model
converted), and the checks that need the model's config and vocabulary.
The caller holds the output folder's lock (job_lock.held) around it.
"""

import os

import tensorflow.compat.v1 as tf

from bert_ner.corpora import conll_format
from bert_ner.corpora import formats
from bert_ner.linking import linker_folder
from bert_ner.linking import mention_linking
from bert_ner import machine
from bert_ner import model_input
from bert_ner import model_settings
from bert_ner.run import cluster
from bert_ner.run import corpus_list
from bert_ner.run import flag_checks
from bert_ner.run import model_files
import modeling
import tokenization

# Flags resolved into other settings (files found, devices, workers).
RESOLVED_FLAGS = ("data_dir", "predict_file", "num_gpus", "multi_worker",
                  "bert_model_dir")
# Settings that no single flag gives.
DERIVED = ("bert_config", "num_workers")


class RunSettings(object):
  """Every value the job needs, read from the flags and checked once: an
  attribute per flag of run_ner.py (less RESOLVED_FLAGS) and per DERIVED
  name.

  mirrored_devices is a tuple of device names (or None); corpus_list the
  run's corpora (corpus_list.Corpus, a list of one for the file flags),
  their files found; bert_config_file, vocab_file and
  init_checkpoint the model's files; bert_config its modeling.BertConfig.
  """

  def __init__(self, **values):
    self.__dict__.update(values)

  def _replace(self, **changes):
    """A copy with some values changed (as namedtuple's _replace)."""
    unknown = set(changes) - set(vars(self))
    if unknown:
      raise TypeError("RunSettings has no %s." % ", ".join(sorted(unknown)))
    return RunSettings(**dict(vars(self), **changes))

  def __repr__(self):
    return "RunSettings(%s)" % ", ".join(
        "%s=%r" % kv for kv in sorted(vars(self).items()))


# ------------------------------------------------------------ resolving

def split_file(explicit, data_dir, split, flag_name, input_format="conll"):
  """The file of a split: the flag's, or found in --data_dir (by the usual
  CoNLL names, or for a document format by the split's name in the file
  name: NCBItrainset_corpus.txt, train.BioC.xml)."""
  if explicit:
    if not tf.io.gfile.exists(explicit):
      raise ValueError("--%s %s does not exist." % (flag_name, explicit))
    if tf.io.gfile.isdir(explicit):
      raise ValueError("--%s %s is a folder: give the file (or the folder "
                       "as --data_dir)." % (flag_name, explicit))
    return explicit
  if not data_dir:
    raise ValueError("Give --data_dir or --%s." % flag_name)
  if not tf.io.gfile.isdir(data_dir):
    raise ValueError("--data_dir %s is not a folder." % data_dir)
  if formats.is_document_format(input_format):
    return find_document_file(data_dir, split, flag_name, input_format)
  path = conll_format.find_split_file(data_dir, split)
  if path is None:
    raise ValueError(
        "No %s file in %s: looked for %s. Name it with --%s." %
        (split, data_dir, ", ".join(conll_format.SPLIT_FILE_NAMES[split]),
         flag_name))
  return path


# For a document format in --data_dir: what names a split's file, and the
# extensions of each format's files.
DOCUMENT_SPLIT_WORDS = {"train": ("train",), "dev": ("dev",), "test": ("test",)}
DOCUMENT_EXTENSIONS = {"pubtator": (".txt", ".pubtator"),
                       "bioc": (".xml", ".json"), "pubmed": (".xml", ".gz")}


def find_document_file(data_dir, split, flag_name, input_format):
  """The one file of a split in data_dir whose name holds the split's name
  ("dev" also matches devel and develop) and ends as the format's files."""
  words = DOCUMENT_SPLIT_WORDS[split]
  found = sorted(
      name for name in tf.io.gfile.listdir(data_dir)
      if any(w in name.lower() for w in words) and
      name.lower().endswith(DOCUMENT_EXTENSIONS[input_format]))
  if len(found) != 1:
    raise ValueError(
        "%s %s file in %s: looked for a name holding %r ending in %s%s. Name "
        "it with --%s." % ("No" if not found else "More than one", split,
                           data_dir, words[0], "/".join(
                               DOCUMENT_EXTENSIONS[input_format]),
                           " (found %s)" % ", ".join(found) if found else "",
                           flag_name))
  return os.path.join(data_dir, found[0])


def read_corpora(v):
  """The run's corpora (corpus_list.Corpus), with the files of the actions
  asked for found: those of --corpora, or the one corpus of the file
  flags (a list of one)."""
  splits = [split for split, wanted in (
      ("train", v["do_train"]),
      ("dev", v["do_eval"] or (v["do_train"] and v["train_with_dev"])),
      ("test", v["do_predict"])) if wanted]
  if v["corpora"]:
    return corpus_list.read(v["corpora"], splits, split_file)
  if v["labels_file"] and not tf.io.gfile.exists(v["labels_file"]):
    raise ValueError("--labels_file %s does not exist." % v["labels_file"])
  return corpus_list.of_files(corpus_files(v, splits), v["input_format"])


def corpus_files(v, splits):
  """{split: path} of the file flags (or --data_dir) for `splits`."""
  fmt = v["input_format"]
  # train and dev are CoNLL unless the corpus is of a training format.
  labelled = fmt if fmt in formats.TRAINING_FORMATS else "conll"
  files = {}
  for split in splits:
    flag_name = "%s_file" % split
    if split == "test" and v["predict_file"]:
      files[split] = split_file(v["predict_file"], None, "test",
                                "predict_file", fmt)
    else:
      files[split] = split_file(v[flag_name], v["data_dir"], split, flag_name,
                                fmt if split == "test" else labelled)
  return files


def check_trained_model(v, trained):
  """A run without --do_train needs the model and labels training left."""
  output_dir = v["output_dir"]
  if v["do_train"]:
    return
  if not trained:
    raise ValueError(
        "--do_eval/--do_predict without --do_train need a trained model in "
        "--output_dir %s, and it holds no checkpoint. Train first (add "
        "--do_train) or point --output_dir at a trained run." % output_dir)
  if not (v["labels_file"] or tf.io.gfile.exists(
      os.path.join(output_dir, model_settings.LABEL_LIST_NAME))):
    raise ValueError(
        "--output_dir %s has no %s (written by training); give "
        "--labels_file with the labels the model was trained on." %
        (output_dir, model_settings.LABEL_LIST_NAME))


# What a predict-only run may set otherwise than the model was trained with:
# other windows over the same model.
ADJUSTABLE_AT_PREDICT = ("max_seq_length", "window_stride")


def trained_settings(v, given):
  """Without --do_train, the trained model's settings (model_settings.py)
  replace the flags'.

  A flag given on the command line that contradicts a saved setting is an
  error naming both, except the window's length and stride, which may
  differ at predict time: those are taken and logged. A folder written by
  an older version lacks some settings: the flag's value (or, for the
  head and the context, what older versions trained with) is assumed and
  logged.

  Args:
    v: dict flag name -> value.
    given: the names of the flags given on the command line.

  Returns:
    dict of the settings to replace.
  """
  if v["do_train"]:
    return {}
  folder = v["output_dir"]
  saved = model_settings.read_saved(folder)
  out, assumed = {}, []
  for name in model_settings.INPUT_SETTINGS + model_settings.HEAD_SETTINGS:
    if name not in saved:
      if name not in given and v[name] is not None:
        out[name] = model_settings.OLDER_DEFAULTS.get(name, v[name])
        if name not in model_settings.ALWAYS_OLDER_DEFAULT:
          assumed.append(name)
      continue
    if name in given and v[name] != saved[name]:
      if name in ADJUSTABLE_AT_PREDICT:
        tf.logging.warning("Predicting with --%s=%s; the model in %s was "
                           "trained with %s.", name, v[name], folder,
                           saved[name])
        continue
      raise ValueError(
          "--%s=%s contradicts the trained model in %s, which has %s=%s (%s). "
          "Leave the flag out: a predict-only run uses the model's settings." %
          (name, v[name], folder, name, saved[name], _settings_file(name)))
    out[name] = saved[name]
  if ("max_seq_length" in given and "window_stride" not in given and
      v["max_seq_length"] != saved.get("max_seq_length")):
    out["window_stride"] = 0  # Half of the new window.
  line = model_input.assumed_line(folder, assumed, out)
  if line:
    tf.logging.warning(line)
  return out


def _settings_file(name):
  return (model_settings.TOKENIZER_CONFIG_NAME
          if name in model_settings.INPUT_SETTINGS else
          model_settings.RUN_INFO_NAME)


def lower_case(v, vocab, vocab_file, init_checkpoint):
  """--do_lower_case, or the model's if not given; checked against the
  model either way."""
  model_path = init_checkpoint or os.path.dirname(vocab_file)
  if v["do_lower_case"] is None:
    guess, reason = tokenization.expected_lower_case(model_path, vocab)
    tf.logging.info("do_lower_case=%s (%s)", True if guess is None else guess,
                    reason or "default")
    return True if guess is None else guess
  tokenization.validate_case_matches_checkpoint(v["do_lower_case"],
                                                model_path, vocab)
  return v["do_lower_case"]


def check_output_folder(output_dir):
  """Raises ValueError if --output_dir names a file."""
  if tf.io.gfile.exists(output_dir) and not tf.io.gfile.isdir(output_dir):
    raise ValueError("--output_dir %s is a file, not a folder: give a folder "
                     "(it is created if missing)." % output_dir)


def check_readable_checkpoint(checkpoint):
  """Reads every variable of the checkpoint once, before any slow work.

  Raises:
    ValueError: naming the checkpoint and the variable, for a file that is
      truncated or corrupt.
  """
  try:
    reader = tf.train.load_checkpoint(checkpoint)
    for name in sorted(reader.get_variable_to_shape_map()):
      reader.get_tensor(name)
  except (tf.errors.OpError, IndexError, RuntimeError) as e:
    # A short data file raises IndexError ("Read less bytes than
    # requested"); a damaged index, an OpError.
    message = e.message if isinstance(e, tf.errors.OpError) else str(e)
    raise ValueError(
        "--init_checkpoint %s cannot be read (%s): its files are truncated "
        "or corrupt. Download or convert the model again." % (
            checkpoint, " ".join(message.split())[:300]))


def resolve(v, given=()):
  """The I/O step: files, the trained model's settings, model files, the
  checks against the model. Returns RunSettings.

  Args:
    v: dict flag name -> value.
    given: the names of the flags given on the command line (see
      trained_settings).
  """
  v = dict(v)
  tf_config = os.environ.get("TF_CONFIG") if v["multi_worker"] else None
  num_workers = cluster.workers_from_tf_config(tf_config) if tf_config else 0
  if v["use_bf16"] and not v["use_tpu"] and not (
      tf.config.list_physical_devices("GPU")):
    machine.check_native_bf16()
  if v["use_tpu"]:
    cluster.check_tpu_reachable(v["tpu_name"] or v["master"], v["tpu_zone"],
                                v["gcp_project"])
  output_dir = v["output_dir"]
  check_output_folder(output_dir)
  trained = (tf.io.gfile.isdir(output_dir) and
             bool(tf.train.latest_checkpoint(output_dir)))
  v["corpus_list"] = read_corpora(v)
  v["corpus_scopes"] = corpus_list.scopes(v["corpus_list"])
  check_trained_model(v, trained)
  # Before any training: a --linker_dir that is no linker folder.
  for folder in mention_linking.parse_folders(v["linker_dir"]):
    linker_folder.read_settings(folder)
  v.update(trained_settings(v, given))
  if not v["do_train"]:
    line = corpus_list.check_scopes(v["corpus_list"], v["corpus_scopes"],
                                    output_dir)
    if line:
      tf.logging.warning(line)

  tf.io.gfile.makedirs(output_dir)
  # In a multi-worker job the chief converts an HF model; the others wait.
  wait_for_chief = (v["worker_timeout_secs"] if tf_config and
                    not cluster.tf_config_is_chief(tf_config) else None)
  config_file, vocab_file, init_checkpoint = model_files.resolve_model_files(
      v, output_dir, trained and not v["do_train"], wait_for_chief)
  for flag_name, path in (("bert_config_file", config_file),
                          ("vocab_file", vocab_file)):
    if not path or not tf.io.gfile.exists(path):
      raise ValueError("--%s %s does not exist." % (flag_name, path))
  if v["do_train"] and init_checkpoint:
    init_checkpoint = modeling.resolve_checkpoint(init_checkpoint)
    check_readable_checkpoint(init_checkpoint)
  bert_config = modeling.BertConfig.from_json_file(config_file)
  flag_checks.check_head(v, bert_config)
  v["window_stride"] = flag_checks.window_stride(v, bert_config, config_file)
  vocab = tokenization.load_vocab(vocab_file)
  flag_checks.check_vocab(vocab, bert_config, vocab_file, config_file)

  v.update(
      bert_config_file=config_file, vocab_file=vocab_file,
      init_checkpoint=init_checkpoint, bert_config=bert_config,
      do_lower_case=lower_case(v, vocab, vocab_file, init_checkpoint),
      mirrored_devices=flag_checks.mirrored_devices(v), num_workers=num_workers,
      static_shapes=v["static_shapes"] or v["use_tpu"],
      preprocess_processes=(v["preprocess_processes"] or
                            machine.available_cores()))
  return RunSettings(**{k: value for k, value in v.items()
                        if k not in RESOLVED_FLAGS})


def job_of(values):
  """The job id that shares the output folder's lock (job_lock.held): the
  cluster's for a multi-worker job, else None (this process)."""
  tf_config = os.environ.get("TF_CONFIG") if values["multi_worker"] else None
  return cluster.job_id(tf_config) if tf_config else None


def validate_flags_or_throw(values, given=()):
  """Checks every flag and combination before any slow work.

  Args:
    values: dict flag name -> value.
    given: the names of the flags given on the command line: a
      predict-only run refuses those that contradict the trained model.

  Returns:
    RunSettings.

  Raises:
    ValueError: one clear message per problem.
  """
  flag_checks.check_values(values)
  return resolve(values, given)
