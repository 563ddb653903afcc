# coding=utf-8
r"""Serves an export over HTTP: an API for texts and documents, and a page
to look at the entities.

    python serve.py --export_dir=EXPORT [--host=127.0.0.1] [--port=8080]

    curl -s localhost:8080/v1/tag -H 'Content-Type: application/json' \
      -d '{"texts": ["BRCA1 mutations cause breast cancer."]}'

The model is loaded once; the windows of requests that arrive together are
tagged in one batch (--max_batch_windows, --max_wait_ms), off the event
loop. Answers are predict_saved_model.py's for the same input. Bound to
127.0.0.1 unless --host says otherwise; another host needs
--auth_token_file (a bearer token every request but / and /healthz must
carry) or an explicit --no_auth. SIGTERM finishes the requests in flight,
then exits. See bert_ner/serving/http_app.py for the API.
"""

import argparse
import os
import sys

import uvicorn

from bert_ner import errors
from bert_ner.serving import http_app
from bert_ner.serving import service as service_lib
from bert_ner.tagging import tagging_options

LOOPBACK = ("127.0.0.1", "localhost", "::1")


def parse_args(argv):
  parser = argparse.ArgumentParser(
      description="Serves a run_ner.py export over HTTP.", allow_abbrev=False)
  parser.add_argument("--export_dir", required=True,
                      help="The folder run_ner.py --export_dir wrote.")
  parser.add_argument("--host", default="127.0.0.1",
                      help="The address to listen on (another than the "
                      "loopback needs --auth_token_file or --no_auth).")
  parser.add_argument("--port", type=int, default=8080)
  tagging_options.add_to_parser(parser, ("backend", "use_bf16",
                                         "repair_tags", "verbose",
                                         "linker_dir"))
  parser.add_argument("--max_batch_windows", type=int, default=64,
                      help="The most windows one call of the model takes.")
  parser.add_argument("--max_wait_ms", type=float, default=5.0,
                      help="How long a batch waits for more requests' "
                      "windows once its first has come.")
  parser.add_argument("--max_request_bytes", type=int, default=1 << 20,
                      help="A larger body is refused (413).")
  parser.add_argument("--max_text_chars", type=int,
                      default=http_app.DEFAULT_MAX_TEXT_CHARS,
                      help="The longest text of a JSON request; a longer "
                      "one is refused (413) before any tagging.")
  parser.add_argument("--request_timeout_s", type=float, default=30.0,
                      help="A request tagged for longer gets 503.")
  parser.add_argument("--max_pending_requests", type=int, default=64,
                      help="Requests tagged at once; more get 503 with "
                      "Retry-After.")
  parser.add_argument("--auth_token_file", default=None,
                      help="A file holding the bearer token requests must "
                      "carry (Authorization: Bearer TOKEN).")
  parser.add_argument("--no_auth", action="store_true",
                      help="Serve another host than the loopback without a "
                      "token (say so explicitly).")
  parser.add_argument("--access_log", action="store_true",
                      help="Log a line per request (off: it costs "
                      "throughput).")
  return parser.parse_args(argv)


def check_args(args):
  """The bearer token (or None); ValueError for arguments that cannot
  serve, before the model is loaded."""
  for name in ("max_batch_windows", "max_request_bytes",
               "max_pending_requests", "max_text_chars"):
    if getattr(args, name) < 1:
      raise ValueError("--%s must be positive, got %d." % (
          name, getattr(args, name)))
  if args.max_wait_ms < 0 or args.request_timeout_s <= 0:
    raise ValueError("--max_wait_ms must be 0 or more and "
                     "--request_timeout_s positive.")
  if args.auth_token_file and args.no_auth:
    raise ValueError("--auth_token_file and --no_auth exclude each other.")
  if args.auth_token_file:
    if not os.path.isfile(args.auth_token_file):
      raise ValueError("--auth_token_file %s is not a file." %
                       args.auth_token_file)
    with open(args.auth_token_file, encoding="utf-8") as f:
      token = f.read().strip()
    if not token or any(c.isspace() for c in token):
      raise ValueError("--auth_token_file %s must hold one token (no "
                       "spaces)." % args.auth_token_file)
    return token
  if args.host not in LOOPBACK and not args.no_auth:
    raise ValueError(
        "--host=%s serves other machines: give --auth_token_file=FILE (a "
        "bearer token requests must carry), or --no_auth to serve them "
        "without one." % args.host)
  return None


def serve(args):
  token = check_args(args)
  service = service_lib.TaggingService(
      args.export_dir, args.backend, args.use_bf16, args.repair_tags,
      args.max_batch_windows, args.max_wait_ms,
      linker_dir=args.linker_dir)
  app = http_app.create_app(service, http_app.Limits(
      args.max_request_bytes, args.request_timeout_s,
      args.max_pending_requests, token, args.max_text_chars))
  print("Serving %s (%s) on http://%s:%d%s" % (
      args.export_dir, service.backend_name, args.host, args.port,
      ", bearer token required" if token else ""), flush=True)
  uvicorn.run(app, host=args.host, port=args.port, log_level="info",
              access_log=args.access_log,
              timeout_graceful_shutdown=int(args.request_timeout_s) + 1)
  return 0


def main(argv=None):
  args = parse_args(sys.argv[1:] if argv is None else argv)
  return errors.run("serve.py", serve, args)


if __name__ == "__main__":
  os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
  sys.exit(main())
