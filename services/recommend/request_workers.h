// A fixed pool of threads for request handlers that block (each GetRecommendations waits
// on its one Redis round trip). gRPC's callback threads must never block, and the sync
// server starts and ends a thread whenever more handlers block than it has pollers, which
// at thousands of requests a second costs more than the requests; a fixed pool does neither.
#pragma once

#include <condition_variable>
#include <deque>
#include <functional>
#include <mutex>
#include <thread>
#include <vector>

namespace journey::recommend {

class RequestWorkers {
 public:
  // At most `max_queued` tasks wait; more are refused (bounded, so a burst cannot grow
  // memory without limit: the caller answers RESOURCE_EXHAUSTED).
  explicit RequestWorkers(int threads, size_t max_queued = 4096);
  // Runs what is queued, then joins.
  ~RequestWorkers();
  RequestWorkers(const RequestWorkers&) = delete;
  RequestWorkers& operator=(const RequestWorkers&) = delete;

  // False (and `task` dropped) when the queue is full.
  bool TrySubmit(std::function<void()> task);

 private:
  void Run();

  std::mutex mu_;
  std::condition_variable ready_;
  std::deque<std::function<void()>> queue_;
  const size_t max_queued_;
  bool stop_ = false;
  std::vector<std::thread> threads_;
};

}  // namespace journey::recommend
