#!/usr/bin/env python3
"""FAISS IndexHNSWFlat peer harness (Debian's python3-faiss), same interface and output as hnswlib_bench.

Prints one JSON object per line on stdout: a "build" line, a "memory" line, then one "search" line per ef.
Search runs the whole query batch on one OpenMP thread (no Python overhead per query), best of --repeat passes.
"""
import argparse
import json
import sys
import time

import numpy as np
import faiss


def read_vecs(path, dtype):
    raw = np.fromfile(path, dtype=np.int32)
    if raw.size == 0:
        sys.exit(f"{path} is empty")
    d = int(raw[0])
    rows = raw.reshape(-1, d + 1)
    return rows[:, 1:].copy().view(dtype) if dtype == np.float32 else rows[:, 1:].copy()


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--base", required=True)
    p.add_argument("--query", required=True)
    p.add_argument("--gt", required=True)
    p.add_argument("--k", type=int, default=10)
    p.add_argument("--M", type=int, default=16)
    p.add_argument("--efc", type=int, default=200)
    p.add_argument("--threads", type=int, default=1)
    p.add_argument("--ef", default="10,20,40,80,120,200")
    p.add_argument("--repeat", type=int, default=3)
    a = p.parse_args()

    base = np.ascontiguousarray(read_vecs(a.base, np.float32))
    queries = np.ascontiguousarray(read_vecs(a.query, np.float32))
    gt = read_vecs(a.gt, np.int32)[:, : a.k]
    n, d = base.shape

    faiss.omp_set_num_threads(a.threads)
    index = faiss.IndexHNSWFlat(d, a.M)
    index.hnsw.efConstruction = a.efc
    start = time.perf_counter()
    index.add(base)
    seconds = time.perf_counter() - start
    print(json.dumps({"library": "faiss", "phase": "build", "threads": a.threads, "seconds": seconds,
                      "M": a.M, "efc": a.efc, "n": n, "dim": d}), flush=True)
    links = faiss.vector_to_array(index.hnsw.neighbors).nbytes + faiss.vector_to_array(index.hnsw.offsets).nbytes
    print(json.dumps({"library": "faiss", "phase": "memory", "index_bytes": int(base.nbytes + links)}), flush=True)

    if a.ef in ("", "none"):
        return
    faiss.omp_set_num_threads(1)
    for ef in [int(x) for x in a.ef.split(",")]:
        index.hnsw.efSearch = max(ef, a.k)
        best = float("inf")
        for _ in range(max(1, a.repeat)):
            start = time.perf_counter()
            _, ids = index.search(queries, a.k)
            best = min(best, time.perf_counter() - start)
        hits = sum(len(set(ids[i]) & set(gt[i])) for i in range(len(queries)))
        recall = hits / (len(queries) * a.k)
        print(json.dumps({"library": "faiss", "phase": "search", "ef": ef, "k": a.k, "recall": recall,
                          "qps": len(queries) / best, "mean_us": best / len(queries) * 1e6}), flush=True)


if __name__ == "__main__":
    main()
