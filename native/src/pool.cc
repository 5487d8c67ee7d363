#include "pool.h"

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <mutex>
#include <thread>
#include <vector>

namespace {

struct Job {
  const XkTable* t;
  void* op;
  const float* in;
  float* out;
  int items;
};

// Items are handed out in small chunks from an atomic counter, so a thread that the OS delays
// (a busy machine) only delays its current chunk: the others, the caller included, take the rest.
class Pool {
 public:
  void run(const Job& job, int threads) {
    ensure(threads - 1);
    next_.store(kClosed, std::memory_order_relaxed);  // late workers of the last job find nothing
    job_ = job;
    chunk_ = job.items / (threads * 8) > 0 ? job.items / (threads * 8) : 1;
    const int chunks = (job.items + chunk_ - 1) / chunk_;
    chunks_.store(chunks, std::memory_order_relaxed);
    done_.store(0, std::memory_order_relaxed);
    next_.store(0, std::memory_order_release);
    {
      std::lock_guard<std::mutex> lk(m_);
      gen_.fetch_add(1, std::memory_order_release);
    }
    cv_.notify_all();
    work();
    while (done_.load(std::memory_order_acquire) < chunks) std::this_thread::yield();
  }

 private:
  static constexpr int kClosed = 1 << 30;
  void work() {
    for (;;) {
      const int i = next_.fetch_add(1, std::memory_order_acq_rel);
      if (i >= chunks_.load(std::memory_order_relaxed)) return;
      const int b = i * chunk_, e = b + chunk_ < job_.items ? b + chunk_ : job_.items;
      job_.t->compute(job_.op, job_.in, job_.out, b, e);
      done_.fetch_add(1, std::memory_order_release);
    }
  }
  void ensure(int n) {
    while ((int)workers_.size() < n) {
      const unsigned start = gen_.load(std::memory_order_acquire);  // before run() bumps it
      workers_.emplace_back([this, start] { loop(start); });
      workers_.back().detach();
    }
  }
  void loop(unsigned seen) {
    for (;;) {
      // Spin ~200 us for the next layer before sleeping: layers of one frame follow each other closely.
      const auto until = std::chrono::steady_clock::now() + std::chrono::microseconds(200);
      while (gen_.load(std::memory_order_acquire) == seen && std::chrono::steady_clock::now() < until) {
      }
      if (gen_.load(std::memory_order_acquire) == seen) {
        std::unique_lock<std::mutex> lk(m_);
        cv_.wait(lk, [&] { return gen_.load(std::memory_order_acquire) != seen; });
      }
      seen = gen_.load(std::memory_order_acquire);
      work();
    }
  }
  std::vector<std::thread> workers_;
  std::mutex m_;
  std::condition_variable cv_;
  std::atomic<unsigned> gen_{0};
  std::atomic<int> next_{kClosed}, chunks_{0}, done_{0};
  int chunk_ = 1;
  Job job_{};
};

std::mutex g_busy;  // one intra-frame job at a time per process (worker_threads may share the addon)
Pool* g_pool = nullptr;

}  // namespace

void xk_run(const XkTable* t, void* op, const float* in, float* out, int threads) {
  const int items = t->items(op);
  if (threads > 16) threads = 16;
  if (threads > items) threads = items;
  std::unique_lock<std::mutex> lk(g_busy, std::try_to_lock);
  if (!lk.owns_lock()) threads = 1;
  t->run_threads(op, threads);
  t->pack(op, in, 0, 1);
  if (threads <= 1) {
    t->compute(op, in, out, 0, items);
  } else {
    if (!g_pool) g_pool = new Pool();  // never freed: workers are detached and live with the process
    g_pool->run(Job{t, op, in, out, items}, threads);
  }
  t->finish(op, out);
}
