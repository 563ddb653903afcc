"""serve.py as it is used: the server started as a process on a free port
of 127.0.0.1, its answers against predict_saved_model.py's on the same
input, every error case, concurrent clients, SIGTERM, and the page in a
real browser (headless Chromium)."""

import concurrent.futures
import json
import os
import signal
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request

import numpy as np
import pytest

pytest.importorskip("fastapi", reason="needs requirements-serve.txt (make "
                    "test installs it)")

from bert_ner.serving import batching  # pylint: disable=g-import-not-at-top,wrong-import-position
import helpers  # pylint: disable=g-import-not-at-top,wrong-import-position
import predict_saved_model  # pylint: disable=g-import-not-at-top,wrong-import-position
import run_linker  # pylint: disable=g-import-not-at-top,wrong-import-position
import serve  # pylint: disable=g-import-not-at-top,wrong-import-position

SENTENCES = ["Familial breast cancer in the colon.",
             "Patients with BRCA1 mutation and colon tumour.",
             "The syndrome was naive; the breast cancer gene.",
             "", "Naïve tumour in Zürich, 中文 and cafe.",
             "An unaffable tumour with colon cancer and breast cancer."]
PUBTATOR = ("1|t|Familial breast cancer.\n"
            "1|a|The colon cancer in patients with BRCA1 mutation.\n"
            "1\t28\t40\tcolon cancer\tDisease\tD003110\n\n"
            "2|t|Nothing here\n2|a|was tagged, but the syndrome.\n\n")


class Server(object):
  """serve.py in a process of its own, on a free port of 127.0.0.1."""

  def __init__(self, export_dir, log_path, *args):
    self.port = helpers.free_port()
    self.url = "http://127.0.0.1:%d" % self.port
    self.log_path = log_path
    with open(log_path, "w") as log:
      self.process = subprocess.Popen(
          [sys.executable, os.path.join(helpers.ROOT, "serve.py"),
           "--export_dir=" + export_dir, "--port=%d" % self.port] +
          list(args), stdout=log, stderr=subprocess.STDOUT)
    deadline = time.time() + 120
    while True:
      assert self.process.poll() is None, helpers.read_text(log_path)[-3000:]
      assert time.time() < deadline, "the server did not start"
      try:
        if self.get("/healthz")[0] == 200:
          break
      except OSError:
        time.sleep(0.2)

  def request(self, method, path, body=None, content_type=None,
              headers=None):
    """(status, headers, body bytes)."""
    request = urllib.request.Request(self.url + path, data=body,
                                     method=method)
    if content_type:
      request.add_header("Content-Type", content_type)
    for key, value in (headers or {}).items():
      request.add_header(key, value)
    try:
      with urllib.request.urlopen(request, timeout=60) as response:
        return response.status, dict(response.headers), response.read()
    except urllib.error.HTTPError as e:
      return e.code, dict(e.headers), e.read()

  def get(self, path, **kwargs):
    return self.request("GET", path, **kwargs)

  def post_json(self, path, value, **kwargs):
    return self.request("POST", path, json.dumps(value).encode("utf-8"),
                        "application/json", **kwargs)

  def stop(self):
    if self.process.poll() is None:
      self.process.send_signal(signal.SIGTERM)
      try:
        self.process.wait(timeout=60)
      except subprocess.TimeoutExpired:
        self.process.kill()
        self.process.wait()


@pytest.fixture(scope="module")
def export(tmp_path_factory, trained_runs):
  folder = tmp_path_factory.mktemp("serve")
  _, export_dir, _ = trained_runs.copy(folder)
  return export_dir


@pytest.fixture(scope="module")
def server(export, tmp_path_factory):
  running = Server(export, str(tmp_path_factory.mktemp("log") / "serve.log"),
                   "--max_request_bytes=20000", "--max_text_chars=5000")
  yield running
  running.stop()


def offline(export, tmp_path, name, text, input_format, output_format=None,
            linker_dir=None):
  """predict_saved_model.py's outputs for a file holding `text`."""
  path = str(tmp_path / name)
  with open(path, "w", encoding="utf-8") as f:
    f.write(text)
  out = str(tmp_path / (name + "_out"))
  predict_saved_model.tag_file(export, path, out, input_format,
                               output_format=output_format,
                               linker_dir=linker_dir)
  return out


pytestmark = pytest.mark.slow


def test_texts_are_answered_as_predict_saved_model_tags_them(server, export,
                                                             tmp_path):
  out = offline(export, tmp_path, "texts.txt",
                "\n".join(s for s in SENTENCES if s) + "\n", "text")
  lines = helpers.read_text(os.path.join(out, "entities.jsonl")).splitlines()
  status, headers, body = server.post_json("/v1/tag",
                                           {"texts": SENTENCES})
  assert status == 200 and headers["content-type"] == "application/json"
  results = json.loads(body)["results"]
  assert len(results) == len(SENTENCES)
  assert results[SENTENCES.index("")] == {"text": "", "entities": []}
  answered = [json.dumps(r, ensure_ascii=False) for r in results
              if r["text"]]
  assert answered == lines  # to the byte
  assert sum(len(r["entities"]) for r in results) > 3
  # One text, and a subset of the types.
  status, _, body = server.post_json("/v1/tag", {"text": SENTENCES[0]})
  assert json.loads(body)["results"] == results[:1]
  # The types to write: these, or every type for [] (as at every door).
  for types in (["Disease"], []):
    status, _, body = server.post_json(
        "/v1/tag", {"texts": SENTENCES[:2], "write_types": types})
    assert status == 200 and json.loads(body)["results"] == results[:2]
  # entity_types is run_ner.py's renaming, not a choice of what to write.
  status, _, body = server.post_json(
      "/v1/tag", {"texts": SENTENCES[:2], "entity_types": ["Disease"]})
  assert status == 400 and "Unknown key(s) \"entity_types\"" in json.loads(
      body)["error"]


@pytest.mark.parametrize("name, content_type, output_format", [
    ("docs.pubtator", "text/x-pubtator", "pubtator"),
    ("docs.xml", "application/xml", "bioc_xml"),
    ("docs.json", "application/json", "bioc_json")])
def test_documents_come_back_as_predict_saved_model_writes_them(
    server, export, tmp_path, name, content_type, output_format):
  source = offline(export, tmp_path, "docs.pubtator", PUBTATOR, "pubtator",
                   output_format)
  ext = {"pubtator": "pubtator", "bioc_xml": "bioc.xml",
         "bioc_json": "bioc.json"}[output_format]
  if output_format == "pubtator":
    body, input_format = PUBTATOR, "pubtator"
  else:  # the same documents as BioC, tagged offline from that file too
    body = helpers.read_text(os.path.join(source, "predictions." + ext))
    input_format = "bioc"
  expected = helpers.read_text(os.path.join(
      offline(export, tmp_path, name, body, input_format), "predictions." +
      ext))
  status, headers, answer = server.request("POST", "/v1/tag",
                                           body.encode("utf-8"), content_type)
  assert status == 200, answer
  assert answer.decode("utf-8") == expected
  assert headers["content-type"].startswith(content_type)


def test_documents_as_entity_lines(server):
  status, headers, body = server.request(
      "POST", "/v1/tag?output=json", PUBTATOR.encode(), "text/x-pubtator")
  assert status == 200 and headers["content-type"].startswith(
      "application/x-ndjson")
  records = [json.loads(line) for line in body.decode().splitlines()]
  assert [r["id"] for r in records] == ["1", "2"]
  for record in records:
    helpers.check_document_entities(record)
    assert all(0 < e["score"] <= 1 for e in record["entities"])


def test_model_health_and_openapi(server, export):
  status, _, body = server.get("/healthz")
  assert (status, json.loads(body)) == (200, {"status": "ok"})
  model = json.loads(server.get("/v1/model")[2])
  # The types it tags, apart from the renaming it was trained with.
  assert model["types"] == ["Disease"] and "entity_types" not in model
  assert model["settings"]["entity_types"] == ""
  assert model["settings"]["max_seq_length"] == 8
  assert model["backend"] == "saved_model" and model["version"]
  assert model["pending_requests"] == 0
  assert model["export_dir"] == os.path.abspath(export)
  spec = json.loads(server.get("/openapi.json")[2])
  assert set(spec["paths"]) == {"/", "/healthz", "/v1/model", "/v1/tag"}
  assert set(spec["paths"]["/v1/tag"]["post"]["requestBody"]["content"]) == {
      "application/json", "text/x-pubtator", "application/xml"}


@pytest.mark.parametrize("body, content_type, status, message", [
    (b"{not json", "application/json", 400, "The body is not JSON: "),
    (b'{"txts": ["a"]}', "application/json", 400,
     'Unknown key(s) "txts": use "texts" or "text"'),
    (b'{"texts": "a"}', "application/json", 400,
     '"texts" must be a list of strings'),
    (b'{"text": "a", "texts": ["b"]}', "application/json", 400,
     'Give one of "texts"'),
    (b'["a"]', "application/json", 400, "must be a JSON object"),
    (b'{"texts": ["a"], "write_types": ["Gene"]}', "application/json", 400,
     "write_types: the model tags Disease, not Gene"),
    (b"\xff\xfe", "application/json", 400, "The body is not UTF-8"),
    (b"some text", "text/plain", 400, "Content-Type 'text/plain': send "),
    (b"1|t|Bad\n1\t0\t3\tXad\tDisease\n\n", "text/x-pubtator", 400,
     "the request body, line 2: document 1: the mention 'Xad' at 0-3 "
     "differs from the text at those offsets, 'Bad'."),
    (b"<collection><document>", "application/xml", 400, "the request body"),
    (b"x" * 20001, "text/x-pubtator", 413,
     "The body has 20001 bytes; the limit is 20000"),
    (b"[" * 9000 + b"]" * 9000, "application/json", 400,
     "its values nest too deep"),
    (json.dumps({"texts": ["short", "x " * 2501]}).encode(),
     "application/json", 413, "Text 1 has 5002 characters; the service tags "
     "at most 5000 in one text (--max_text_chars)"),
])
def test_errors_are_one_line_and_no_trace(server, body, content_type, status,
                                          message):
  got, _, answer = server.request("POST", "/v1/tag", body, content_type)
  error = json.loads(answer)["error"]
  assert got == status, error
  assert message in error
  assert "\n" not in error and "Traceback" not in answer.decode("utf-8",
                                                                "replace")


def test_documents_output_unknown_and_unknown_path(server):
  status, _, body = server.request("POST", "/v1/tag?output=csv",
                                   PUBTATOR.encode(), "text/x-pubtator")
  assert status == 400 and "output must be one of" in json.loads(body)[
      "error"]
  # Texts are answered as JSON: another ?output= is refused, not ignored.
  for output in ("csv", "pubtator"):
    status, _, body = server.request(
        "POST", "/v1/tag?output=" + output, b'{"texts": ["a"]}',
        "application/json")
    assert status == 400 and json.loads(body)["error"].startswith(
        "output=%s: texts are answered as JSON" % output)
  assert server.post_json("/v1/tag?output=json", {"texts": ["a"]})[0] == 200
  assert server.get("/v2/nothing")[0] == 404


def test_a_chunked_body_over_the_limit_is_refused(server):
  """A body sent in chunks, without Content-Length, is counted as it
  comes: over --max_request_bytes it gets 413."""
  def chunks(count):
    for index in range(count):
      yield b"%d|t|%s\n\n" % (index, b"x" * 990)

  for count, status in ((21, 413), (3, 200)):
    request = urllib.request.Request(server.url + "/v1/tag",
                                     data=chunks(count), method="POST")
    request.add_header("Content-Type", "text/x-pubtator")
    request.add_header("Transfer-Encoding", "chunked")
    try:
      with urllib.request.urlopen(request, timeout=60) as response:
        got, body = response.status, response.read()
    except urllib.error.HTTPError as e:
      got, body = e.code, e.read()
    assert got == status, body[:300]
    if status == 413:
      assert json.loads(body)["error"] == (
          "The body is over the limit of 20000 bytes (--max_request_bytes).")


def test_concurrent_clients_get_every_answer_right(server):
  """16 clients, 12 requests each of one sentence: no error, every answer
  the sentence's own (batched with others', equal to float noise)."""
  alone = {}
  for sentence in SENTENCES:
    alone[sentence] = json.loads(server.post_json(
        "/v1/tag", {"text": sentence})[2])["results"][0]

  def client(index):
    answers = []
    for step in range(12):
      sentence = SENTENCES[(index + step) % len(SENTENCES)]
      status, _, body = server.post_json("/v1/tag", {"text": sentence})
      answers.append((sentence, status, body))
    return answers

  with concurrent.futures.ThreadPoolExecutor(16) as pool:
    answers = [a for result in pool.map(client, range(16)) for a in result]
  assert len(answers) == 16 * 12
  for sentence, status, body in answers:
    assert status == 200, body
    (result,) = json.loads(body)["results"]
    expected = alone[sentence]
    assert result["text"] == expected["text"]
    assert [(e["start"], e["end"], e["type"]) for e in result["entities"]] == [
        (e["start"], e["end"], e["type"]) for e in expected["entities"]]
    assert [e["score"] for e in result["entities"]] == pytest.approx(
        [e["score"] for e in expected["entities"]], abs=2e-4)


def test_a_token_is_needed_when_given_and_other_hosts_need_one(export,
                                                               tmp_path):
  token_file = tmp_path / "token"
  token_file.write_text("s3cret-token\n")
  guarded = Server(export, str(tmp_path / "guarded.log"),
                   "--auth_token_file=%s" % token_file)
  try:
    status, headers, body = guarded.post_json("/v1/tag", {"text": "a"})
    assert status == 401 and headers["www-authenticate"] == "Bearer"
    assert "Authorization: Bearer TOKEN" in json.loads(body)["error"]
    assert guarded.post_json("/v1/tag", {"text": "a"}, headers={
        "Authorization": "Bearer wrong"})[0] == 401
    assert guarded.post_json("/v1/tag", {"text": "a"}, headers={
        "Authorization": "Bearer s3cret-token"})[0] == 200
    assert guarded.get("/v1/model")[0] == 401
    assert guarded.get("/healthz")[0] == 200 and guarded.get("/")[0] == 200
  finally:
    guarded.stop()
  for args, message in (
      (["--host=0.0.0.0"], "--host=0.0.0.0 serves other machines: give "
       "--auth_token_file=FILE"),
      (["--no_auth", "--auth_token_file=%s" % token_file], "exclude each "
       "other"),
      (["--auth_token_file=%s" % (tmp_path / "none")], "is not a file"),
      (["--max_batch_windows=0"], "--max_batch_windows must be positive")):
    with pytest.raises(ValueError, match=message):
      serve.check_args(serve.parse_args(["--export_dir=" + export] + args))
  assert serve.check_args(serve.parse_args(
      ["--export_dir=" + export, "--host=0.0.0.0", "--no_auth"])) is None
  result = subprocess.run(
      [sys.executable, os.path.join(helpers.ROOT, "serve.py"),
       "--export_dir=" + export, "--host=0.0.0.0"],
      capture_output=True, text=True, timeout=120, check=False)
  assert result.returncode == 2
  assert result.stderr.strip().splitlines()[-1].startswith(
      "serve.py: error: --host=0.0.0.0 serves other machines")


# A request that takes seconds to tag with the tiny model.
MANY = {"texts": [s for s in SENTENCES if s] * 800}


def test_busy_and_slow_requests_get_503_with_retry_after(export, tmp_path):
  """One request at a time, 0.5 s a request: a long one times out, one sent
  meanwhile finds the server busy."""
  slow = Server(export, str(tmp_path / "slow.log"),
                "--max_pending_requests=1", "--request_timeout_s=0.5")
  try:
    first = {}
    thread = threading.Thread(target=lambda: first.update(
        answer=slow.post_json("/v1/tag", MANY)))
    thread.start()
    deadline = time.time() + 30
    while json.loads(slow.get("/v1/model")[2])["pending_requests"] < 1:
      assert time.time() < deadline and thread.is_alive()
      time.sleep(0.005)
    status, headers, body = slow.post_json("/v1/tag", {"text": "x"})
    thread.join(timeout=60)
    assert status == 503 and headers["retry-after"] == "1", body
    assert "--max_pending_requests=1" in json.loads(body)["error"]
    status, headers, body = first["answer"]
    assert status == 503 and headers["retry-after"] == "5"
    assert "longer than 0.5 s (--request_timeout_s)" in json.loads(body)[
        "error"]
  finally:
    slow.stop()


def test_sigterm_finishes_the_requests_in_flight(export, tmp_path):
  waiting = Server(export, str(tmp_path / "term.log"))
  answer = {}
  thread = threading.Thread(target=lambda: answer.update(
      got=waiting.post_json("/v1/tag", MANY), at=time.time()))
  thread.start()
  deadline = time.time() + 30
  while json.loads(waiting.get("/v1/model")[2])["pending_requests"] < 1:
    assert time.time() < deadline and thread.is_alive()
    time.sleep(0.005)  # until the request is being tagged
  signalled = time.time()
  waiting.process.send_signal(signal.SIGTERM)
  thread.join(timeout=60)
  # uvicorn shuts down, then ends the process by the signal it caught.
  assert waiting.process.wait(timeout=60) in (0, -signal.SIGTERM)
  status, _, body = answer["got"]
  assert status == 200 and answer["at"] > signalled  # answered after it
  results = json.loads(body)["results"]
  assert [r["text"] for r in results] == MANY["texts"]
  assert "Finished server process" in helpers.read_text(waiting.log_path)


def test_batching_merges_concurrent_calls_and_isolates_errors():
  """Eight callers at once: fewer model calls than callers, each caller its
  own rows back; a batch the model fails on fails its caller only."""
  seen, held = [], []  # each call's shape and callers (their ids' value)

  def model(arrays):
    seen.append(arrays["input_ids"].shape)
    held.append(set(arrays["input_ids"][:, 1].tolist()))
    if len(seen) == 1:  # the first call holds the model until the rest wait
      deadline = time.time() + 60
      while backend._queue.qsize() < 8 - len(arrays["input_ids"]) // 2:
        assert time.time() < deadline
        time.sleep(0.005)
    if (arrays["input_ids"] == 99).any():
      raise RuntimeError("a bad window")
    ids = arrays["input_ids"]
    return ids * 2, np.stack([ids, -ids], axis=-1).astype(np.float32)

  backend = batching.BatchingBackend(model, max_batch_windows=64,
                                     max_wait_ms=200)

  def call(index):
    length = 3 + index % 4
    ids = np.full([2, length], index + 1, np.int32)
    if index == 5:
      ids[1, 0] = 99
    arrays = {"input_ids": ids, "input_mask": np.ones_like(ids)}
    try:
      with backend.caller():
        return index, backend(arrays)
    except RuntimeError as e:
      return index, e

  with concurrent.futures.ThreadPoolExecutor(8) as pool:
    results = dict(pool.map(call, range(8)))
  assert isinstance(results[5], RuntimeError)
  for index, result in results.items():
    if index == 5:
      continue
    predicted, probabilities = result
    length = 3 + index % 4
    assert predicted.shape == (2, length)
    np.testing.assert_array_equal(predicted, 2 * (index + 1))
    assert probabilities.shape == (2, length, 2)
  # Two calls take the eight callers (the first call those that came
  # within max_wait, the second the rest); the one holding the bad window
  # then runs each of its callers alone.
  first, second = held[0], held[1]
  assert sorted(first | second) == list(range(1, 9)) and not first & second
  faulty = first if 6 in first else second  # index 5's rows hold 6
  assert len(seen) == 2 + len(faulty) and len(held) == len(seen)
  with pytest.raises(batching.Overloaded):
    batching.BatchingBackend(model, max_waiting_windows=1)(
        {"input_ids": np.ones([2, 3], np.int32),
         "input_mask": np.ones([2, 3], np.int32)})


def test_batching_keeps_each_model_call_within_max_batch_windows():
  """Four callers of 3 windows against a limit of 4: the first call holds
  the model until the other three wait, yet no call takes two callers (6
  windows); each caller gets its own rows back."""
  rows = []

  def model(arrays):
    rows.append(sorted(set(arrays["input_ids"][:, 0].tolist())))
    if len(rows) == 1:  # hold until the three others wait (one of them
      deadline = time.time() + 60  # may be put back for lack of room)
      while backend._queue.qsize() + (backend._carried is not None) < 3:
        assert time.time() < deadline
        time.sleep(0.005)
    ids = arrays["input_ids"]
    return ids * 2, np.stack([ids, -ids], axis=-1).astype(np.float32)

  backend = batching.BatchingBackend(model, max_batch_windows=4,
                                     max_wait_ms=200)

  def call(index):
    ids = np.full([3, 5], index + 1, np.int32)
    with backend.caller():
      return backend({"input_ids": ids, "input_mask": np.ones_like(ids)})

  with concurrent.futures.ThreadPoolExecutor(4) as pool:
    results = list(pool.map(call, range(4)))
  for index, (predicted, _) in enumerate(results):
    np.testing.assert_array_equal(predicted, np.full([3, 5], 2 * (index + 1)))
  assert len(rows) == 4 and sorted(r[0] for r in rows) == [1, 2, 3, 4]
  assert all(len(r) == 1 for r in rows)
  assert (backend.calls, backend.windows) == (4, 12)


def chromium_or_skip():
  webdriver = pytest.importorskip("selenium.webdriver", reason="needs "
                                  "Selenium (make test installs it)")
  for path in ("/usr/bin/chromium", "/usr/bin/chromedriver"):
    if not os.path.exists(path):
      pytest.skip("needs Debian's chromium and chromium-driver (%s is "
                  "absent; .ci/run installs them)" % path)
  options = webdriver.ChromeOptions()
  for arg in ("--headless=new", "--no-sandbox", "--disable-gpu",
              "--disable-quic", "--no-first-run",
              "--disable-background-networking", "--disable-component-update",
              "--disable-sync", "--disable-dev-shm-usage",
              "--window-size=1100,800"):
    options.add_argument(arg)
  options.binary_location = "/usr/bin/chromium"
  return webdriver.Chrome(service=webdriver.ChromeService(
      "/usr/bin/chromedriver"), options=options)


def test_the_page_marks_the_apis_entities_in_a_browser(server, tmp_path):
  from selenium.webdriver.common.by import By  # pylint: disable=g-import-not-at-top
  from selenium.webdriver.support.ui import WebDriverWait  # pylint: disable=g-import-not-at-top
  text = ("Familial breast cancer and colon cancer in patients with BRCA1 "
          "mutation; the syndrome was naive.")
  expected = json.loads(server.post_json("/v1/tag", {"text": text})[2])[
      "results"][0]["entities"]
  assert expected
  browser = chromium_or_skip()
  try:
    browser.get(server.url + "/")
    browser.find_element(By.TAG_NAME, "textarea").send_keys(text)
    browser.find_element(By.CSS_SELECTOR, "button[type=submit]").click()
    WebDriverWait(browser, 30).until(lambda b: b.find_element(
        By.TAG_NAME, "body").get_attribute("data-tagged") == "yes")
    marks = browser.find_elements(By.CSS_SELECTOR, "#result mark")
    assert [(m.get_attribute("textContent"), m.get_attribute("data-type"))
            for m in marks] == [(e["text"], e["type"]) for e in expected]
    assert [m.get_attribute("title") for m in marks] == [
        "%s, score %.4f" % (e["type"], e["score"]) for e in expected]
    assert browser.find_element(By.ID, "counts").text == (
        "%d entities (Disease: %d)" % (len(expected), len(expected)))
    links = [a.get_attribute("download") for a in browser.find_elements(
        By.CSS_SELECTOR, "#downloads a")]
    assert links == ["entities.json", "text.pubtator", "text.bioc.xml",
                     "text.bioc.json"]
    # Nothing from elsewhere: no script, style or font but the page's own.
    sources = browser.execute_script(
        "return Array.from(document.querySelectorAll('script[src], "
        "link[href], img[src]')).length")
    assert sources == 0
    browser.save_screenshot(str(tmp_path / "page.png"))
  finally:
    browser.quit()
  assert os.path.getsize(tmp_path / "page.png") > 1000


def test_linked_texts_carry_the_ids_predict_saved_model_writes(export,
                                                               tmp_path):
  """serve.py --linker_dir: each entity of a text carries the id, concept
  name and link score that predict_saved_model.py --linker_dir writes in
  entities.jsonl; /v1/model names the linker and its types."""
  dictionary = tmp_path / "diseases.txt"
  dictionary.write_text("D001943||breast cancer\nD003110||colon cancer\n"
                        "D009369||tumour|neoplasms\nD013577||syndrome\n")
  linker = str(tmp_path / "linker")
  run_linker.run(run_linker.values_of(
      dictionary=[str(dictionary)], output_dir=str(tmp_path / "linking"),
      export_dir=linker, entity_types="Disease", dense=False),
                 log=lambda line: None)
  out = offline(export, tmp_path, "texts.txt",
                "\n".join(s for s in SENTENCES if s) + "\n", "text",
                linker_dir=linker)
  lines = helpers.read_text(os.path.join(out, "entities.jsonl")).splitlines()
  linked = [e for line in lines for e in json.loads(line)["entities"]]
  # Every entity with a word links (no threshold); one of punctuation
  # alone (the tiny model tags a ";") has nothing to link: NIL, no id.
  assert [e.get("id") is not None for e in linked] == [
      any(c.isalnum() for c in e["text"]) for e in linked]
  assert {e["id"] for e in linked if "id" in e} <= {
      "D001943", "D003110", "D009369", "D013577"}
  running = Server(export, str(tmp_path / "serve.log"),
                   "--linker_dir=" + linker)
  try:
    status, _, body = running.post_json("/v1/tag", {"texts": SENTENCES})
    assert status == 200
    answered = [json.dumps(r, ensure_ascii=False)
                for r in json.loads(body)["results"] if r["text"]]
    assert answered == lines  # to the byte
    model = json.loads(running.get("/v1/model")[2])
    assert model["linkers"] == {linker: ["Disease"]}
  finally:
    running.stop()
