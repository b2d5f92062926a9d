// Copyright 2026 The p2pdma-sim authors. SPDX-License-Identifier: Apache-2.0
#include "engine/direct_host.h"

#include "engine/fiber_set.h"

namespace p2psim {

namespace {

/// Task fibers and a time counter: nothing but the scheduler moves time.
class DirectHost : public CoroutineHost {
 public:
  void start(int slot, std::function<void()> body) override { fibers_.start(slot, std::move(body)); }
  void resume(int slot) override { fibers_.resume(slot); }
  void yield(int slot) override { fibers_.yield(slot); }
  bool advance(ps_t dt) override {
    now_ += dt;  // nothing else can happen meanwhile: no hardware models
    return false;
  }
  ps_t now() const override { return now_; }

 private:
  FiberSet fibers_;
  ps_t now_ = 0;
};

}  // namespace

void run_on_direct_host(const std::function<void(CoroutineHost&)>& main) {
  DirectHost host;
  main(host);  // an error in a task body is rethrown from resume()
}

}  // namespace p2psim
