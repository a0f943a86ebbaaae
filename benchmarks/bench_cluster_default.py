"""Wall time and peak memory of the default `tfunsup cluster` run.

Runs the console command in fresh subprocesses, each with an empty
TFUNSUP_SAVED_MODELS folder (so the MNIST-5k source model is trained, as on a
fresh machine), and also with the source model already present. Peak memory
is the child's maximum resident set size. Reports the median of --repeats
runs side by side.

    python benchmarks/bench_cluster_default.py --repeats 3
"""

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time


def run_once(saved_models, out):
    env = dict(os.environ, TFUNSUP_SAVED_MODELS=saved_models, CUDA_VISIBLE_DEVICES="")
    start = time.perf_counter()
    process = subprocess.Popen(["tfunsup", "cluster", "--quiet", "--out", out], env=env,
                               stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
    _, status, usage = os.wait4(process.pid, 0)
    seconds = time.perf_counter() - start
    output = process.stdout.read()
    if status != 0:
        sys.exit(f"tfunsup cluster failed (status {status}):\n{output}")
    metrics = json.load(open(os.path.join(out, "metrics.json")))
    return {"seconds": seconds, "peak_rss_gib": usage.ru_maxrss / 2**20, "acc": metrics["acc"]}


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()
    rows = {"fresh (trains source model)": [], "source model present": []}
    for _ in range(args.repeats):
        with tempfile.TemporaryDirectory() as tmp:
            saved = os.path.join(tmp, "saved_models")
            rows["fresh (trains source model)"].append(run_once(saved, os.path.join(tmp, "a")))
            rows["source model present"].append(run_once(saved, os.path.join(tmp, "b")))
    print(f"tfunsup cluster (default), {args.repeats} runs each, median [min-max]; "
          f"{os.cpu_count()} CPUs")
    print(f"{'case':30s} {'wall s':>18s} {'peak RSS GiB':>18s} {'ACC':>6s}")
    for case, results in rows.items():
        wall = [r["seconds"] for r in results]
        rss = [r["peak_rss_gib"] for r in results]
        print(f"{case:30s} {statistics.median(wall):7.1f} [{min(wall):.1f}-{max(wall):.1f}]"
              f"{statistics.median(rss):9.2f} [{min(rss):.2f}-{max(rss):.2f}]"
              f" {results[0]['acc']:6.3f}")


if __name__ == "__main__":
    main()
