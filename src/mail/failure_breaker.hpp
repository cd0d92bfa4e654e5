#pragma once
// When a sending run should pause: too many failures in a row (a server down, a rejected login).

namespace kizuna::mail {

// Counts consecutive failures; once `limit` happen in a row the run should pause. A success
// resets the count. Thread-safety: none.
class FailureBreaker {
  public:
    explicit FailureBreaker(int limit) : limit_(limit) {}
    void RecordSuccess() { consecutive_ = 0; }
    void RecordFailure() { ++consecutive_; }
    bool tripped() const { return consecutive_ >= limit_; }
    int consecutive_failures() const { return consecutive_; }

  private:
    int limit_;
    int consecutive_ = 0;
};

}  // namespace kizuna::mail
