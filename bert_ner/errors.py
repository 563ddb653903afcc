"""The error boundary of every command-line tool: a user's mistake or the
machine's fault is one line naming the path and what to do, and a non-zero
exit; the trace only on request.

    if __name__ == "__main__":
      sys.exit(errors.run("tag_corpus.py", main))

Set BERT_NER_TRACE=1, or pass --verbose, to see the Python trace as well.
This module loads no TensorFlow (conlleval.py runs without it); it knows
TensorFlow's errors when a tool has loaded it.
"""

import errno
import os
import sys

TRACE_ENV = "BERT_NER_TRACE"

# Exit codes: the input or the flags are wrong; the machine (disk, rights,
# a peer) or the job (a folder in use, a diverged training) failed.
USER_ERROR = 2
MACHINE_ERROR = 1
VERBOSE_ARGS = ("--verbose", "--verbose=true", "--verbose=1")


class JobError(RuntimeError):
  """A job that cannot go on for a reason its message gives (the output
  folder in use, a lost worker, a diverged training): exit code 1."""


def trace_wanted(argv=None):
  argv = sys.argv if argv is None else argv
  return bool(os.environ.get(TRACE_ENV)) or any(a in VERBOSE_ARGS
                                                for a in argv)


def _tf_errors():
  """TensorFlow's error classes if a tool loaded TensorFlow, else None."""
  return sys.modules.get("tensorflow.python.framework.errors_impl")


def _path_of(error):
  path = getattr(error, "filename", None)
  return "%s: " % path if path else ""


def describe(error):
  """(exit code, one line) for an error a user or the machine caused, or
  None for a bug (which keeps its trace)."""
  tf_errors = _tf_errors()
  op_error = tf_errors.OpError if tf_errors else ()
  if isinstance(error, ValueError):
    return USER_ERROR, str(error)
  if isinstance(error, JobError):
    return MACHINE_ERROR, str(error)
  if isinstance(error, OSError) and error.errno == errno.ENOSPC or (
      op_error and isinstance(error, op_error) and
      "No space left" in error.message):
    return MACHINE_ERROR, ("%sno space left on the device (%s). Free some, or "
                           "write elsewhere; the outputs written so far are "
                           "whole." % (_path_of(error), _message(error)))
  if isinstance(error, PermissionError) or (
      isinstance(error, OSError) and error.errno == errno.EROFS) or (
          tf_errors and isinstance(error, tf_errors.PermissionDeniedError)):
    return MACHINE_ERROR, ("%s%s. Make the folder writable (or the file "
                           "readable), or choose another one." % (
                               _path_of(error), _message(error)))
  if isinstance(error, (IsADirectoryError, NotADirectoryError,
                        FileNotFoundError, FileExistsError)):
    return USER_ERROR, "%s%s." % (_path_of(error), _message(error))
  if op_error and isinstance(error, op_error) and not isinstance(
      error, (tf_errors.InternalError, tf_errors.UnknownError)):
    return USER_ERROR, _message(error)
  if isinstance(error, OSError):
    return MACHINE_ERROR, "%s%s." % (_path_of(error), _message(error))
  return None


def _message(error):
  tf_errors = _tf_errors()
  if tf_errors and isinstance(error, tf_errors.OpError):
    text = error.message
  elif isinstance(error, OSError) and error.strerror:
    text = error.strerror
  else:
    text = str(error)
  return " ".join(text.split())


def run(name, main, *args):
  """Runs `main(*args)` inside the boundary; returns the exit code."""
  try:
    return main(*args)
  except KeyboardInterrupt:
    sys.stderr.write("%s: interrupted.\n" % name)
    return 130
  except Exception as e:  # pylint: disable=broad-except
    described = describe(e)
    if described is None or trace_wanted():
      raise
    code, line = described
    sys.stderr.write("%s: error: %s\n" % (name, line))
    return code
