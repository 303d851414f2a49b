// hnswlib peer harness: the same interface and output as faiss_bench.py, so AnnBench runs both alike.
//
//   hnswlib_bench --base b.fvecs --query q.fvecs --gt gt.ivecs --k 10 --M 16 --efc 200 --threads 1
//                 --ef 10,20,40 --repeat 3 [--seed 100]
//
// Prints one JSON object per line on stdout: "build", "memory", then one "search" line per ef. Build runs on
// --threads threads (each takes the next row, as hnswlib's Python binding does); search runs one query at a time
// on one thread, best of --repeat passes, recall against the first k ids of each ground-truth row.
//
// Built with -DHNSWLIB_FILTER against hnswlib 0.7 or later (build.sh --filter), it also takes
//   --filter 500:gt500.ivecs,10:gt10.ivecs --filter-ef 64
// and prints one "filter" line per pass rate (in per mille): searchKnn with a BaseFilterFunctor that passes the
// labels AnnBench's FilterRun passes, recall against that pass rate's exact filtered answers (-1 = no answer).
#include <hnswlib/hnswlib.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <stdexcept>
#include <string>
#include <thread>
#include <unordered_set>
#include <vector>

#include <unistd.h>

namespace {

template <typename T>
std::vector<T> read_vecs(const std::string& path, int& dim, size_t& rows) {
    std::ifstream in(path, std::ios::binary | std::ios::ate);
    if (!in) throw std::runtime_error("cannot open " + path);
    const size_t bytes = static_cast<size_t>(in.tellg());
    in.seekg(0);
    int32_t d = 0;
    in.read(reinterpret_cast<char*>(&d), 4);
    if (d <= 0) throw std::runtime_error(path + ": bad dimension");
    const size_t row_bytes = 4 + static_cast<size_t>(d) * 4;
    if (bytes % row_bytes != 0) throw std::runtime_error(path + ": size is not a whole number of rows");
    dim = d;
    rows = bytes / row_bytes;
    std::vector<T> out(rows * d);
    in.seekg(0);
    for (size_t i = 0; i < rows; i++) {
        int32_t di = 0;
        in.read(reinterpret_cast<char*>(&di), 4);
        if (di != d) throw std::runtime_error(path + ": rows of different dimensions");
        in.read(reinterpret_cast<char*>(out.data() + i * d), static_cast<std::streamsize>(d) * 4);
    }
    return out;
}

std::vector<int> parse_list(const std::string& s) {
    std::vector<int> out;
    if (s.empty() || s == "none") return out;
    size_t start = 0;
    while (start <= s.size()) {
        size_t comma = s.find(',', start);
        if (comma == std::string::npos) comma = s.size();
        out.push_back(std::stoi(s.substr(start, comma - start)));
        start = comma + 1;
    }
    return out;
}

// Resident bytes of this process (Linux): the index's real footprint is the growth across its construction and build.
size_t resident_bytes() {
    std::ifstream statm("/proc/self/statm");
    size_t pages_total = 0, pages_resident = 0;
    statm >> pages_total >> pages_resident;
    return pages_resident * static_cast<size_t>(sysconf(_SC_PAGESIZE));
}

double seconds_since(std::chrono::steady_clock::time_point start) {
    return std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
}

// The same scattered pass/fail of a label as AnnBench's FilterRun.Passes.
bool passes(uint64_t label, int per_mille) {
    return static_cast<int>((label * 0x9E3779B97F4A7C15ULL) >> 40) % 1000 < per_mille;
}

#ifdef HNSWLIB_FILTER
class PassRateFilter : public hnswlib::BaseFilterFunctor {
public:
    explicit PassRateFilter(int per_mille) : per_mille_(per_mille) {}
    bool operator()(hnswlib::labeltype label) override { return passes(label, per_mille_); }

private:
    int per_mille_;
};
#endif

}  // namespace

int main(int argc, char** argv) {
    std::string base_path, query_path, gt_path, ef_list = "10,20,40,80,120,200", filter_list;
    int k = 10, m = 16, efc = 200, threads = 1, repeat = 3, seed = 100, filter_ef = 64;
    for (int i = 1; i + 1 < argc; i += 2) {
        std::string key = argv[i], value = argv[i + 1];
        if (key == "--base") base_path = value;
        else if (key == "--query") query_path = value;
        else if (key == "--gt") gt_path = value;
        else if (key == "--k") k = std::stoi(value);
        else if (key == "--M") m = std::stoi(value);
        else if (key == "--efc") efc = std::stoi(value);
        else if (key == "--threads") threads = std::max(1, std::stoi(value));
        else if (key == "--ef") ef_list = value;
        else if (key == "--repeat") repeat = std::max(1, std::stoi(value));
        else if (key == "--seed") seed = std::stoi(value);
        else if (key == "--filter") filter_list = value;
        else if (key == "--filter-ef") filter_ef = std::stoi(value);
        else { std::fprintf(stderr, "unknown option %s\n", key.c_str()); return 2; }
    }
    if (base_path.empty() || query_path.empty() || (gt_path.empty() && !parse_list(ef_list).empty())) {
        std::fprintf(stderr, "--base and --query are required, and --gt with --ef\n");
        return 2;
    }

    try {
        int dim = 0, qdim = 0, gdim = 0;
        size_t n = 0, nq = 0, ng = 0;
        std::vector<float> base = read_vecs<float>(base_path, dim, n);
        std::vector<float> queries = read_vecs<float>(query_path, qdim, nq);
        std::vector<int32_t> gt;
        if (!gt_path.empty()) gt = read_vecs<int32_t>(gt_path, gdim, ng);
        if (qdim != dim || (!gt_path.empty() && (ng != nq || gdim < k))) throw std::runtime_error("base, queries and ground truth do not match");

        const size_t resident_before = resident_bytes();
        hnswlib::L2Space space(dim);
        hnswlib::HierarchicalNSW<float> index(&space, n, m, efc, seed);
        auto start = std::chrono::steady_clock::now();
        std::atomic<size_t> next{0};
        std::vector<std::thread> workers;
        for (int t = 0; t < threads; t++) {
            workers.emplace_back([&] {
                for (size_t i = next++; i < n; i = next++) index.addPoint(base.data() + i * dim, i);
            });
        }
        for (auto& w : workers) w.join();
        const double build_seconds = seconds_since(start);
        std::printf("{\"library\":\"hnswlib\",\"phase\":\"build\",\"threads\":%d,\"seconds\":%.4f,\"M\":%d,\"efc\":%d,\"n\":%zu,\"dim\":%d}\n",
                    threads, build_seconds, m, efc, n, dim);

        // Everything the index holds: layer-0 records (links, vector, label), upper-layer lists, the label map and
        // the per-node locks, measured as resident memory rather than computed from hnswlib's internals.
        const size_t bytes = resident_bytes() - resident_before;
        std::printf("{\"library\":\"hnswlib\",\"phase\":\"memory\",\"index_bytes\":%zu}\n", bytes);
        std::fflush(stdout);

        std::vector<size_t> found(nq * k);
        for (int ef : parse_list(ef_list)) {
            index.setEf(std::max(ef, k));
            double best = 1e300;
            for (int r = 0; r < repeat; r++) {
                auto t0 = std::chrono::steady_clock::now();
                for (size_t q = 0; q < nq; q++) {
                    auto result = index.searchKnn(queries.data() + q * dim, k);
                    std::fill(found.begin() + q * k, found.begin() + (q + 1) * k, SIZE_MAX);
                    for (int j = static_cast<int>(result.size()) - 1; !result.empty(); j--, result.pop()) found[q * k + j] = result.top().second;
                }
                best = std::min(best, seconds_since(t0));
            }
            size_t hits = 0;
            for (size_t q = 0; q < nq; q++) {
                std::unordered_set<size_t> truth(gt.begin() + q * gdim, gt.begin() + q * gdim + k);
                for (int j = 0; j < k; j++) hits += truth.count(found[q * k + j]);
            }
            std::printf("{\"library\":\"hnswlib\",\"phase\":\"search\",\"ef\":%d,\"k\":%d,\"recall\":%.6f,\"qps\":%.1f,\"mean_us\":%.3f}\n",
                        ef, k, static_cast<double>(hits) / (nq * k), nq / best, best / nq * 1e6);
            std::fflush(stdout);
        }

        // --filter per_mille:truth.ivecs,...
        for (size_t start = 0; start < filter_list.size();) {
            size_t comma = filter_list.find(',', start);
            if (comma == std::string::npos) comma = filter_list.size();
            const std::string item = filter_list.substr(start, comma - start);
            start = comma + 1;
            const size_t colon = item.find(':');
            if (colon == std::string::npos) throw std::runtime_error("--filter takes per_mille:truth.ivecs items");
            const int per_mille = std::stoi(item.substr(0, colon));
            int fdim = 0;
            size_t frows = 0;
            std::vector<int32_t> truth = read_vecs<int32_t>(item.substr(colon + 1), fdim, frows);
            if (frows != nq || fdim < k) throw std::runtime_error("filtered ground truth does not match the queries");
#ifdef HNSWLIB_FILTER
            PassRateFilter filter(per_mille);
            index.setEf(std::max(filter_ef, k));
            double best = 1e300;
            for (int r = 0; r < repeat; r++) {
                auto t0 = std::chrono::steady_clock::now();
                for (size_t q = 0; q < nq; q++) {
                    auto result = index.searchKnn(queries.data() + q * dim, k, &filter);
                    std::fill(found.begin() + q * k, found.begin() + (q + 1) * k, SIZE_MAX);
                    for (int j = static_cast<int>(result.size()) - 1; !result.empty(); j--, result.pop()) found[q * k + j] = result.top().second;
                }
                best = std::min(best, seconds_since(t0));
            }
            size_t hits = 0, expected = 0, rejected = 0;
            for (size_t q = 0; q < nq; q++) {
                std::unordered_set<size_t> answer;
                for (int j = 0; j < k; j++) {
                    const int32_t t = truth[q * fdim + j];
                    if (t >= 0) { answer.insert(static_cast<size_t>(t)); expected++; }
                }
                for (int j = 0; j < k; j++) {
                    const size_t f = found[q * k + j];
                    if (f == SIZE_MAX) continue;
                    hits += answer.count(f);
                    rejected += passes(f, per_mille) ? 0 : 1;
                }
            }
            std::printf("{\"library\":\"hnswlib\",\"phase\":\"filter\",\"per_mille\":%d,\"ef\":%d,\"k\":%d,\"recall\":%.6f,\"qps\":%.1f,\"rejected_returned\":%zu}\n",
                        per_mille, filter_ef, k, expected == 0 ? 1.0 : static_cast<double>(hits) / expected, nq / best, rejected);
            std::fflush(stdout);
#else
            (void)per_mille;
            throw std::runtime_error("this build has no filter: build.sh --filter builds against hnswlib 0.7 or later");
#endif
        }
    } catch (const std::exception& e) {
        std::fprintf(stderr, "hnswlib_bench: %s\n", e.what());
        return 1;
    }
    return 0;
}
