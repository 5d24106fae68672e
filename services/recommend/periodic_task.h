// A BackgroundWorker that runs one function every `interval` (catalog sync, statistics
// refresh). Stop() wakes it at once.
#pragma once

#include <pthread.h>

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <functional>
#include <mutex>
#include <string>
#include <thread>

#include "absl/status/status.h"
#include "absl/time/time.h"
#include "common/log/log.h"
#include "common/server/service_runtime.h"

namespace journey::recommend {

class PeriodicTask final : public server::BackgroundWorker {
 public:
  PeriodicTask(std::string name, absl::Duration interval, std::function<absl::Status()> task)
      : name_(std::move(name)), interval_(interval), task_(std::move(task)) {}
  ~PeriodicTask() override { Stop(); }

  void Start() override {
    stop_ = false;
    thread_ = std::thread([this] {
      bool failing = false;
      while (true) {
        absl::Status st = task_();
        if (!st.ok() && !failing) log::Warn(name_ + " failed", {{"error", std::string(st.message())}});
        failing = !st.ok();
        std::unique_lock<std::mutex> lock(mu_);
        if (cv_.wait_for(lock, absl::ToChronoMilliseconds(interval_), [&] { return stop_; })) return;
      }
    });
    pthread_setname_np(thread_.native_handle(), "rec-periodic");
  }
  void Stop() override {
    {
      std::lock_guard<std::mutex> lock(mu_);
      stop_ = true;
    }
    cv_.notify_all();
    if (thread_.joinable()) thread_.join();
  }

 private:
  const std::string name_;
  const absl::Duration interval_;
  std::function<absl::Status()> task_;
  std::mutex mu_;
  std::condition_variable cv_;
  bool stop_ = false;
  std::thread thread_;
};

}  // namespace journey::recommend
