r"""Writes the ONNX version of a run_ner.py export, and its int8 version.

    python export_onnx.py --export_dir=EXPORT [--int8]

EXPORT is a folder run_ner.py --export_dir wrote; it gets model.onnx
(tf2onnx's conversion of the SavedModel's serving signature, opset 17) and,
with --int8, model_int8.onnx (ONNX Runtime's dynamic quantization: int8
weights, activations quantized per batch, fast on CPUs with VNNI), beside
the vocabulary, labels and settings every backend reads. Then:

    python predict_saved_model.py --export_dir=EXPORT --backend=onnxruntime_int8 ...
    python tag_corpus.py --export_dir=EXPORT --backend=onnxruntime ...

Needs requirements-onnx.txt (make test installs it).
"""

import argparse
import os
import sys

from bert_ner import errors
from bert_ner.tagging import onnx_backend
from bert_ner.tagging import saved_model_backend


def main(argv=None):
  parser = argparse.ArgumentParser(
      description=__doc__.split("\n")[0], allow_abbrev=False)
  parser.add_argument("--export_dir", required=True,
                      help="The folder run_ner.py --export_dir wrote.")
  parser.add_argument("--int8", action="store_true",
                      help="Also write model_int8.onnx.")
  parser.add_argument("--verbose", action="store_true",
                      help="Show the Python trace of an error.")
  args = parser.parse_args(sys.argv[1:] if argv is None else argv)
  return errors.run("export_onnx.py", export, args)


def export(args):
  saved_model_backend.check_export(args.export_dir)
  onnx_backend.export_onnx(args.export_dir, args.int8, log=print)
  return 0


if __name__ == "__main__":
  os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
  sys.exit(main())
