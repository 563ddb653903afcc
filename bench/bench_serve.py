r"""The HTTP service against offline tagging, back to back, on one machine.

    python bench/bench_serve.py --export_dir=EXPORT [--sentences=N] \
      [--soak_requests=10000]

  1. offline: the export's tagging core as predict_saved_model.py runs it
     (one process, batches of 32 windows), on N sentences of NCBI-disease
     test (../shared; else data/sample's test file): sentences/s, the
     model loaded and warmed up first; and the same at --offline_batches
     windows a call (what concurrent one-sentence requests can fill);
  2. serve.py in its own process on 127.0.0.1, clients sending one sentence
     a request (keep-alive connections, one thread a client) at 1, 4 and 16
     clients: sentences/s, p50 and p99 latency, and the ratio to offline;
  3. a soak: --soak_requests requests from 16 clients, the errors counted
     and the server's resident memory read after every thousand.
Prints a table and, last, one JSON line.
"""

import argparse
import concurrent.futures
import http.client
import json
import os
import signal
import socket
import statistics
import subprocess
import sys
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, ROOT)

# pylint: disable=g-import-not-at-top,wrong-import-position
from bert_ner.corpora import conll_format
from bert_ner.corpora import text_format
from bert_ner.tagging import saved_model_backend
# pylint: enable=g-import-not-at-top,wrong-import-position

SHARED_TEST = os.path.join(os.path.dirname(ROOT), "shared", "data",
                           "ncbi_disease", "test.tsv")
SAMPLE_TEST = os.path.join(ROOT, "data", "sample", "test.tsv")


def parse_args():
  p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
  p.add_argument("--export_dir", required=True)
  p.add_argument("--sentences", type=int, default=400)
  p.add_argument("--requests_per_setting", type=int, default=400)
  p.add_argument("--soak_requests", type=int, default=10000)
  p.add_argument("--clients", default="1,4,16")
  p.add_argument("--max_wait_ms", type=float, default=5.0)
  p.add_argument("--max_batch_windows", type=int, default=64)
  p.add_argument("--offline_batches", default="1,8,16",
                 help="other batch sizes to tag offline at")
  return p.parse_args()


def sentences(count):
  path = SHARED_TEST if os.path.exists(SHARED_TEST) else SAMPLE_TEST
  examples = conll_format.read_conll(path)
  return [" ".join(e.words) for e in examples if e.words][:count], path


def offline_rates(export_dir, texts, batch_sizes):
  """{batch size: sentences/s} of the tagging core."""
  tagger = saved_model_backend.load_tagger(export_dir)
  examples = [text_format.text_example(t, i) for i, t in enumerate(texts)]
  list(tagger.tag_stream(examples[:32], 32))  # warm up
  rates = {}
  for batch_size in batch_sizes:
    start = time.perf_counter()
    list(tagger.tag_stream(examples, batch_size))
    rates[batch_size] = len(texts) / (time.perf_counter() - start)
  return rates


def free_port():
  with socket.socket() as s:
    s.bind(("127.0.0.1", 0))
    return s.getsockname()[1]


def start_server(args, port, log_path):
  log = open(log_path, "w")
  process = subprocess.Popen(
      [sys.executable, os.path.join(ROOT, "serve.py"),
       "--export_dir=" + args.export_dir, "--port=%d" % port,
       "--max_wait_ms=%g" % args.max_wait_ms,
       "--max_batch_windows=%d" % args.max_batch_windows],
      stdout=log, stderr=subprocess.STDOUT)
  deadline = time.time() + 180
  while time.time() < deadline:
    try:
      connection = http.client.HTTPConnection("127.0.0.1", port, timeout=5)
      connection.request("GET", "/healthz")
      if connection.getresponse().status == 200:
        return process
    except OSError:
      time.sleep(0.3)
  process.kill()
  raise RuntimeError("serve.py did not start; see %s" % log_path)


def rss_mb(pid):
  with open("/proc/%d/status" % pid) as f:
    for line in f:
      if line.startswith("VmRSS:"):
        return int(line.split()[1]) / 1024.0
  return 0.0


def client_run(port, texts, first, count):
  """Sends `count` one-sentence requests; (latencies, errors)."""
  connection = http.client.HTTPConnection("127.0.0.1", port, timeout=120)
  latencies, errors = [], 0
  for step in range(count):
    body = json.dumps({"text": texts[(first + step) % len(texts)]})
    start = time.perf_counter()
    try:
      connection.request("POST", "/v1/tag", body,
                         {"Content-Type": "application/json"})
      response = connection.getresponse()
      response.read()
      if response.status != 200:
        errors += 1
    except (OSError, http.client.HTTPException):
      errors += 1
      connection = http.client.HTTPConnection("127.0.0.1", port, timeout=120)
    latencies.append(time.perf_counter() - start)
  return latencies, errors


def batching(port):
  """The server's (model calls, windows) so far (GET /v1/model)."""
  connection = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
  connection.request("GET", "/v1/model")
  figures = json.loads(connection.getresponse().read())["batching"]
  return figures["model_calls"], figures["windows"]


def load(port, texts, clients, total):
  """(sentences/s, p50 ms, p99 ms, errors) of `total` requests from
  `clients` clients."""
  per_client = max(1, total // clients)
  start = time.perf_counter()
  with concurrent.futures.ThreadPoolExecutor(clients) as pool:
    runs = list(pool.map(lambda i: client_run(port, texts, i * 37,
                                              per_client), range(clients)))
  seconds = time.perf_counter() - start
  latencies = sorted(l for run, _ in runs for l in run)
  errors = sum(e for _, e in runs)
  p99 = latencies[min(len(latencies) - 1, int(0.99 * len(latencies)))]
  return (len(latencies) / seconds, 1000 * statistics.median(latencies),
          1000 * p99, errors)


def soak(port, pid, texts, total):
  """Errors and the server's RSS after each thousand requests."""
  rss, errors = [rss_mb(pid)], 0
  for _ in range(max(1, total // 1000)):
    _, _, _, failed = load(port, texts, 16, 1000)
    errors += failed
    rss.append(rss_mb(pid))
  return errors, rss


def main():
  args = parse_args()
  texts, source = sentences(args.sentences)
  rates = offline_rates(args.export_dir, texts, [32] + [
      int(b) for b in args.offline_batches.split(",") if b])
  result = {"sentences": len(texts), "source": source,
            "offline_sentences_per_sec": rates[32],
            "offline_by_batch": rates}
  port = free_port()
  log_path = os.path.join(ROOT, "output", "bench_serve.log")
  os.makedirs(os.path.dirname(log_path), exist_ok=True)
  server = start_server(args, port, log_path)
  try:
    load(port, texts, 4, 64)  # warm up
    result["load"] = {}
    for clients in [int(c) for c in args.clients.split(",")]:
      calls, windows = batching(port)
      rate, p50, p99, errors = load(port, texts, clients,
                                    args.requests_per_setting)
      calls_after, windows_after = batching(port)
      result["load"][clients] = {
          "sentences_per_sec": rate, "p50_ms": p50, "p99_ms": p99,
          "errors": errors, "windows_per_model_call": (
              (windows_after - windows) / max(1, calls_after - calls)),
          "ratio_to_offline": rate / result["offline_sentences_per_sec"]}
    errors, rss = soak(port, server.pid, texts, args.soak_requests)
    result["soak"] = {"requests": args.soak_requests, "errors": errors,
                      "rss_mb": rss}
  finally:
    server.send_signal(signal.SIGTERM)
    server.wait(timeout=120)
  print("offline (tagging core, batches of 32): %.1f sentences/s on %d "
        "sentences of %s" % (result["offline_sentences_per_sec"],
                             len(texts), source))
  print("offline at other batch sizes: %s" % ", ".join(
      "%d windows %.1f/s" % item for item in sorted(rates.items())))
  print("| clients | sentences/s | x offline | p50 ms | p99 ms | windows a "
        "model call | errors |")
  print("| ---: | ---: | ---: | ---: | ---: | ---: | ---: |")
  for clients, row in result["load"].items():
    print("| %d | %.1f | %.2f | %.1f | %.1f | %.1f | %d |" % (
        clients, row["sentences_per_sec"], row["ratio_to_offline"],
        row["p50_ms"], row["p99_ms"], row["windows_per_model_call"],
        row["errors"]))
  rss = result["soak"]["rss_mb"]
  print("soak: %d requests, %d errors; server RSS %.0f MB after the first "
        "thousand, %.0f MB after the last (%.3fx)" % (
            args.soak_requests, result["soak"]["errors"], rss[1], rss[-1],
            rss[-1] / rss[1]))
  print(json.dumps(result))


if __name__ == "__main__":
  main()
