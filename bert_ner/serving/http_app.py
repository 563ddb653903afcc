"""The HTTP API of the tagging service (FastAPI on uvicorn; serve.py runs
it), safe by default:

  POST /v1/tag    JSON {"texts": [...]} or {"text": "..."} (optional
                  "write_types", the types to write; none or []: all):
                  {"results": [one per text]}; a PubTator (text/x-pubtator),
                  BioC XML (application/xml) or BioC JSON (application/json
                  with a collection's "documents") body: the documents back
                  with their predicted mentions (?output= pubtator,
                  bioc_xml, bioc_json or json, ?write_types=A,B)
  GET  /v1/model  the types the model tags, its settings, backend, version
  GET  /healthz   {"status": "ok"}
  GET  /          a page to paste text into and look at its entities

Every error is one line of JSON, {"error": "..."}, with its status: 400 for
a body that is not what it should be, 401 without the bearer token (when
the server has one), 413 for a body over the limit, 503 (with Retry-After)
when too many requests wait or one takes longer than the limit. A trace
never reaches a client: it goes to the server's log.
"""

import asyncio
import concurrent.futures
import hmac
import json
import logging
import os

import fastapi
from fastapi import responses

from bert_ner.corpora import formats
from bert_ner.serving import batching
from bert_ner.serving import service as service_lib

LOG = logging.getLogger("bert_ner.serve")
PAGE_PATH = os.path.join(os.path.dirname(os.path.abspath(__file__)),
                         "page.html")
TEXT_KEYS = ("text", "texts", "write_types")
# A document body's format by its content type (a JSON body is BioC JSON
# when it holds a collection's "documents"), and an answer's media type by
# its format: from the one table of document formats.
DOCUMENT_TYPES = {content_type: f.name
                  for f in formats.DOCUMENT_OUTPUTS.values()
                  for content_type in f.request_types
                  if content_type != "application/json"}
MEDIA_TYPES = dict({f.name: f.media_type
                    for f in formats.DOCUMENT_OUTPUTS.values()},
                   **{service_lib.ENTITY_LINES:
                      "application/x-ndjson; charset=utf-8"})
OPEN_PATHS = ("/", "/healthz")


class HTTPError(Exception):
  """An answer other than 200: its status, one line, its headers."""

  def __init__(self, status, message, headers=None):
    super().__init__(message)
    self.status = status
    self.message = message
    self.headers = headers or {}


def error_response(status, message, headers=None):
  return responses.JSONResponse({"error": message}, status_code=status,
                                headers=headers)


# The longest text of a JSON request: a text is tagged as one paragraph,
# and one longer than a long article section is refused up front (413)
# rather than tagged past the time limit.
DEFAULT_MAX_TEXT_CHARS = 100000


class Limits(object):
  """What the server takes: body size, time per request, requests in
  flight at once; and its bearer token (None: no authentication)."""

  def __init__(self, max_request_bytes=1 << 20, request_timeout_s=30.0,
               max_pending_requests=64, auth_token=None,
               max_text_chars=DEFAULT_MAX_TEXT_CHARS):
    self.max_request_bytes = max_request_bytes
    self.request_timeout_s = request_timeout_s
    self.max_pending_requests = max_pending_requests
    self.auth_token = auth_token
    self.max_text_chars = max_text_chars


async def read_body(request, limit):
  """The body, or HTTPError 413 as soon as it is over `limit` bytes."""
  declared = request.headers.get("content-length")
  if declared and declared.isdigit() and int(declared) > limit:
    raise HTTPError(413, "The body has %s bytes; the limit is %d "
                    "(--max_request_bytes)." % (declared, limit))
  chunks, size = [], 0
  async for chunk in request.stream():
    size += len(chunk)
    if size > limit:
      raise HTTPError(413, "The body is over the limit of %d bytes "
                      "(--max_request_bytes)." % limit)
    chunks.append(chunk)
  return b"".join(chunks)


def parse_json(body):
  """The JSON value of a body, or HTTPError 400."""
  try:
    return json.loads(body.decode("utf-8"))
  except UnicodeDecodeError as e:
    raise HTTPError(400, "The body is not UTF-8 (%s)." % e.reason)
  except ValueError as e:
    raise HTTPError(400, "The body is not JSON: %s." % e)
  except RecursionError:
    raise HTTPError(400, "The body is not JSON this service reads: its "
                    "values nest too deep.")


def is_bioc_collection(value):
  return isinstance(value, dict) and "documents" in value


def parse_text_request(value, max_text_chars=DEFAULT_MAX_TEXT_CHARS):
  """(texts, write_types or None) of a JSON body's value.

  Raises:
    HTTPError 400: naming what is wrong; 413 for a text over
      max_text_chars characters.
  """
  if not isinstance(value, dict):
    raise HTTPError(400, "The body must be a JSON object with \"texts\" (a "
                    "list of strings) or \"text\" (a string).")
  unknown = sorted(set(value) - set(TEXT_KEYS))
  if unknown:
    raise HTTPError(400, "Unknown key(s) %s: use \"texts\" or \"text\", and "
                    "\"write_types\"." % ", ".join(map(json.dumps, unknown)))
  if ("text" in value) == ("texts" in value):
    raise HTTPError(400, "Give one of \"texts\" (a list of strings) or "
                    "\"text\" (a string).")
  single = "text" in value
  texts = [value["text"]] if single else value["texts"]
  if not isinstance(texts, list) or not all(isinstance(t, str)
                                            for t in texts):
    raise HTTPError(400, "\"%s\" must be %s." % (
        "text" if single else "texts",
        "a string" if single else "a list of strings"))
  longest = max(range(len(texts)), key=lambda i: len(texts[i]), default=None)
  if longest is not None and len(texts[longest]) > max_text_chars:
    raise HTTPError(413, "Text %d has %d characters; the service tags at "
                    "most %d in one text (--max_text_chars): send it as "
                    "several texts, a paragraph each." % (
                        longest, len(texts[longest]), max_text_chars))
  types = value.get("write_types")
  if types is not None and (not isinstance(types, list) or not all(
      isinstance(t, str) for t in types)):
    raise HTTPError(400, "\"write_types\" must be a list of strings.")
  return texts, types


def results_json(results):
  """{"results": [...]}, each result serialized as predict_saved_model.py
  writes a line of entities.jsonl."""
  return "{\"results\": [%s]}" % ", ".join(
      json.dumps(r, ensure_ascii=False) for r in results)


class Gate(object):
  """What every request passes: the bearer token, and the tagging run off
  the event loop within the limits (time, requests at once)."""

  def __init__(self, limits):
    self.limits = limits
    self.pool = concurrent.futures.ThreadPoolExecutor(
        max_workers=max(1, limits.max_pending_requests),
        thread_name_prefix="tag")
    self.pending = 0

  def check_auth(self, request):
    if not self.limits.auth_token or request.url.path in OPEN_PATHS:
      return
    given = request.headers.get("authorization", "")
    expected = "Bearer " + self.limits.auth_token
    if not hmac.compare_digest(given.encode(), expected.encode()):
      raise HTTPError(401, "This server needs \"Authorization: Bearer "
                      "TOKEN\" (the token of its --auth_token_file).",
                      {"WWW-Authenticate": "Bearer"})

  async def run(self, function, *args):
    """function(*args) on a tagging thread; HTTPError 503 when too many
    wait or it takes too long, 400 for its ValueError."""
    limits = self.limits
    if self.pending >= limits.max_pending_requests:
      raise HTTPError(503, "%d requests are being tagged already (at most "
                      "--max_pending_requests=%d); try again shortly." % (
                          self.pending, limits.max_pending_requests),
                      {"Retry-After": "1"})
    self.pending += 1
    try:
      future = asyncio.get_running_loop().run_in_executor(self.pool,
                                                          function, *args)
      return await asyncio.wait_for(future, limits.request_timeout_s)
    except asyncio.TimeoutError:
      raise HTTPError(503, "The request took longer than %g s "
                      "(--request_timeout_s); try again, or send less." %
                      limits.request_timeout_s, {"Retry-After": "5"})
    except batching.Overloaded as e:
      raise HTTPError(503, "The server is busy: %s; try again shortly." % e,
                      {"Retry-After": "1"})
    except ValueError as e:
      raise HTTPError(400, str(e).strip().split("\n")[0])
    finally:
      self.pending -= 1



async def internal_error(request, error):  # pylint: disable=unused-argument
  """Any other exception: logged with its trace, one line to the client."""
  LOG.error("Request %s %s failed", request.method, request.url.path,
            exc_info=error)
  return error_response(500, "Internal error; the server's log has the "
                        "details.")


async def tag_request(service, gate, request, output, write_types):
  """POST /v1/tag: texts as JSON, or a document body."""
  content_type = request.headers.get("content-type", "").split(";")[0]
  content_type = content_type.strip().lower()
  body = await read_body(request, gate.limits.max_request_bytes)
  value = parse_json(body) if content_type == "application/json" else None
  if content_type == "application/json" and not is_bioc_collection(value):
    if output is not None and output != "json":
      raise HTTPError(400, "output=%s: texts are answered as JSON; ?output= "
                      "chooses the format of documents (PubTator, BioC)." %
                      output)
    texts, types = parse_text_request(value, gate.limits.max_text_chars)
    results = await gate.run(service.tag_texts, texts, types)
    return responses.Response(results_json(results),
                              media_type="application/json")
  kind = ("bioc_json" if content_type == "application/json" else
          DOCUMENT_TYPES.get(content_type))
  if kind is None:
    raise HTTPError(400, "Content-Type %r: send application/json (texts, "
                    "or a BioC JSON collection), text/x-pubtator or "
                    "application/xml (BioC)." % content_type)
  types = [t for t in write_types.split(",") if t] if write_types else None
  text = await gate.run(service.tag_documents, body, kind, output, types)
  return responses.Response(text, media_type=MEDIA_TYPES[output or kind])


def create_app(service, limits=None):
  """The FastAPI app of a service.TaggingService."""
  gate = Gate(limits or Limits())
  app = fastapi.FastAPI(
      title="BERT NER tagging service",
      version=service.model_info()["version"],
      description="Tags text and documents (PubTator, BioC) with a "
      "run_ner.py export. Errors are {\"error\": \"one line\"}.")
  with open(PAGE_PATH, encoding="utf-8") as f:
    page = f.read()

  @app.exception_handler(HTTPError)
  async def http_error(request, error):  # pylint: disable=unused-argument
    return error_response(error.status, error.message, error.headers)

  app.add_exception_handler(Exception, internal_error)

  @app.get("/healthz", summary="Liveness: {\"status\": \"ok\"}")
  async def healthz():
    return {"status": "ok"}

  @app.get("/v1/model", summary="The model: its entity types, settings, "
           "backend and version")
  async def model(request: fastapi.Request):
    gate.check_auth(request)
    return dict(service.model_info(), pending_requests=gate.pending)

  @app.get("/", response_class=responses.HTMLResponse,
           summary="A page to tag text and look at its entities")
  async def index():
    return page

  @app.post("/v1/tag", summary="Tag texts (JSON) or documents (PubTator, "
            "BioC XML, BioC JSON)", openapi_extra=TAG_OPENAPI)
  async def tag(request: fastapi.Request, output: str = None,
                write_types: str = None):
    gate.check_auth(request)
    return await tag_request(service, gate, request, output, write_types)

  app.state.gate = gate
  return app


TAG_OPENAPI = {
    "requestBody": {
        "required": True,
        "content": {
            "application/json": {"schema": {
                "oneOf": [
                    {"type": "object", "additionalProperties": False,
                     "required": ["texts"],
                     "properties": {
                         "texts": {"type": "array",
                                   "items": {"type": "string"}},
                         "write_types": {"type": "array",
                                          "items": {"type": "string"}}}},
                    {"type": "object", "additionalProperties": False,
                     "required": ["text"],
                     "properties": {
                         "text": {"type": "string"},
                         "write_types": {"type": "array",
                                          "items": {"type": "string"}}}},
                    {"type": "object", "description": "a BioC JSON "
                     "collection", "required": ["documents"]}]}},
            "text/x-pubtator": {"schema": {"type": "string"}},
            "application/xml": {"schema": {"type": "string",
                                           "description": "BioC XML"}},
        }},
    "responses": {
        "200": {"description": "{\"results\": [{\"text\", \"entities\": "
                "[{\"start\", \"end\", \"type\", \"text\", \"score\"}]}]} "
                "for texts; the documents, in their format, for documents"},
        "400": {"description": "{\"error\": \"...\"}: the body is not what "
                "it should be"},
        "401": {"description": "no or a wrong bearer token"},
        "413": {"description": "the body is over --max_request_bytes"},
        "503": {"description": "busy, or over --request_timeout_s; see "
                "Retry-After"},
    },
}
