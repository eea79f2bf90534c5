#include "thread_pool.h"

#include <algorithm>
#include <atomic>
#include <condition_variable>
#include <cstdlib>
#include <mutex>
#include <thread>
#include <vector>

namespace normkit {
namespace {

int DefaultThreads() {
  if (const char* env = std::getenv("NORMKIT_NUM_THREADS")) {
    char* end = nullptr;
    const long n = std::strtol(env, &end, 10);
    if (end != env && *end == '\0' && n >= 1 && n <= 1024) return static_cast<int>(n);
  }
  const unsigned hw = std::thread::hardware_concurrency();
  return hw == 0 ? 1 : static_cast<int>(std::min(hw, 1024u));
}

class Pool {
 public:
  Pool() : threads_(DefaultThreads()) {}

  int threads() const { return threads_.load(std::memory_order_relaxed); }

  void SetThreads(int n) {
    std::lock_guard<std::mutex> submit(submit_mu_);
    threads_.store(n, std::memory_order_relaxed);
    // Shrinking joins every worker; they are re-created lazily at the new size.
    if (static_cast<int>(workers_.size()) > n - 1) StopWorkers();
  }

  void Run(int64_t items, void (*fn)(void*, int64_t), void* ctx) {
    std::unique_lock<std::mutex> submit(submit_mu_, std::try_to_lock);
    if (!submit.owns_lock()) return RunInline(items, fn, ctx);
    EnsureWorkers(threads() - 1);
    if (workers_.empty()) return RunInline(items, fn, ctx);
    fn_ = fn;
    ctx_ = ctx;
    items_ = items;
    next_.store(0, std::memory_order_relaxed);
    {
      std::lock_guard<std::mutex> lock(mu_);
      pending_ = static_cast<int>(workers_.size());
      ++generation_;
    }
    work_cv_.notify_all();
    RunItems();
    std::unique_lock<std::mutex> lock(mu_);
    done_cv_.wait(lock, [this] { return pending_ == 0; });
  }

 private:
  static void RunInline(int64_t items, void (*fn)(void*, int64_t), void* ctx) {
    for (int64_t i = 0; i < items; ++i) fn(ctx, i);
  }

  void RunItems() {
    for (int64_t i = next_.fetch_add(1, std::memory_order_relaxed); i < items_;
         i = next_.fetch_add(1, std::memory_order_relaxed)) {
      fn_(ctx_, i);
    }
  }

  // Called with submit_mu_ held and no job in flight.
  void EnsureWorkers(int n) {
    while (static_cast<int>(workers_.size()) < n) {
      const uint64_t seen = generation_;
      workers_.emplace_back([this, seen] { WorkerLoop(seen); });
    }
  }

  // Called with submit_mu_ held and no job in flight.
  void StopWorkers() {
    {
      std::lock_guard<std::mutex> lock(mu_);
      stop_ = true;
    }
    work_cv_.notify_all();
    for (std::thread& t : workers_) t.join();
    workers_.clear();
    std::lock_guard<std::mutex> lock(mu_);
    stop_ = false;
  }

  void WorkerLoop(uint64_t seen) {
    for (;;) {
      {
        std::unique_lock<std::mutex> lock(mu_);
        work_cv_.wait(lock, [&] { return stop_ || generation_ != seen; });
        if (stop_) return;
        seen = generation_;
      }
      RunItems();
      std::lock_guard<std::mutex> lock(mu_);
      if (--pending_ == 0) done_cv_.notify_one();
    }
  }

  std::atomic<int> threads_;
  std::mutex submit_mu_;  // one job at a time; guards workers_ and the job fields
  std::vector<std::thread> workers_;
  void (*fn_)(void*, int64_t) = nullptr;
  void* ctx_ = nullptr;
  int64_t items_ = 0;
  std::atomic<int64_t> next_{0};

  std::mutex mu_;  // guards generation_, pending_, stop_
  std::condition_variable work_cv_;
  std::condition_variable done_cv_;
  uint64_t generation_ = 0;
  int pending_ = 0;
  bool stop_ = false;
};

// Never destroyed: joining threads from a static destructor at process exit
// could race with a libuv thread still inside a kernel.
Pool& GetPool() {
  static Pool* pool = new Pool();
  return *pool;
}

}  // namespace

int NumThreads() { return GetPool().threads(); }

void SetNumThreads(int n) { GetPool().SetThreads(n < 1 ? 1 : n); }

void ParallelFor(int64_t items, int64_t total_values,
                 void (*fn)(void* ctx, int64_t item), void* ctx) {
  if (items <= 0) return;
  Pool& pool = GetPool();
  if (items == 1 || total_values < kInlineValues || pool.threads() <= 1) {
    for (int64_t i = 0; i < items; ++i) fn(ctx, i);
    return;
  }
  pool.Run(items, fn, ctx);
}

}  // namespace normkit
