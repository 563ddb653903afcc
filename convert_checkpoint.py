# coding=utf-8
r"""Converts BERT weights between HuggingFace's safetensors layout and Google's.

    python convert_checkpoint.py --from_hf HF_DIR --to_tf OUT_DIR
    python convert_checkpoint.py --from_tf TF_DIR --to_hf OUT_DIR

HF_DIR holds `config.json`, `model.safetensors` and `vocab.txt` (tensor names
with or without the `bert.` prefix). TF_DIR holds `bert_config.json`,
`vocab.txt` and a checkpoint (`bert_model.ckpt.*`, or any checkpoint this
project wrote, whose NER head is exported as `classifier.*`).

Dense kernels are stored [in, out] by TensorFlow and [out, in] by PyTorch,
so they are transposed; every other tensor is copied bit for bit.
"""

import argparse
import os
import sys

from bert_ner import errors
from bert_ner import model_settings
from bert_ner.model import checkpoint_conversion
from bert_ner.model_settings import (BERT_CONFIG_NAME, CHECKPOINT_PREFIX,
                                     HF_CONFIG_NAME, SAFETENSORS_NAME,
                                     VOCAB_NAME)


def main(argv=None):
  parser = argparse.ArgumentParser(
      description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
  source = parser.add_mutually_exclusive_group(required=True)
  source.add_argument("--from_hf", metavar="HF_DIR")
  source.add_argument("--from_tf", metavar="TF_DIR")
  parser.add_argument("--to_tf", metavar="OUT_DIR")
  parser.add_argument("--to_hf", metavar="OUT_DIR")
  parser.add_argument("--checkpoint", default=None,
                      help="with --from_tf: checkpoint prefix to convert "
                      "(default: the one in TF_DIR)")
  parser.add_argument("--verbose", action="store_true",
                      help="show the Python trace of an error")
  args = parser.parse_args(argv)
  if args.from_hf:
    if not args.to_tf:
      parser.error("--from_hf needs --to_tf OUT_DIR")
    checkpoint_conversion.convert_hf_to_tf(args.from_hf, args.to_tf)
    print("Wrote %s, %s and %s in %s" % (CHECKPOINT_PREFIX, BERT_CONFIG_NAME,
                                         VOCAB_NAME, args.to_tf))
  else:
    if not args.to_hf:
      parser.error("--from_tf needs --to_hf OUT_DIR")
    label_list = None
    labels_path = os.path.join(args.from_tf, model_settings.LABEL_LIST_NAME)
    if os.path.isfile(labels_path):
      with open(labels_path, encoding="utf-8") as f:
        label_list = [l.rstrip("\n") for l in f if l.strip()]
    checkpoint_conversion.convert_tf_to_hf(args.from_tf, args.to_hf,
                                           args.checkpoint, label_list)
    print("Wrote %s, %s and %s in %s" % (SAFETENSORS_NAME, HF_CONFIG_NAME,
                                         VOCAB_NAME, args.to_hf))
  return 0


if __name__ == "__main__":
  sys.exit(errors.run("convert_checkpoint.py", main))
