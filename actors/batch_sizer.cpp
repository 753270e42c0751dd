#include <eddy/actors/batch_sizer.hpp>

namespace eddy {

uint32_t batch_sizer::consumed(size_t n, clock::time_point now) noexcept {
  if (target_s_ <= 0)
    return 0;
  records_ += n;
  if (!started_) {
    // The clock starts at the first batch: time before it is not the receiver's pace.
    started_ = true;
    since_ = now;
    records_ = 0;
    return 0;
  }
  auto elapsed = std::chrono::duration<double>(now - since_).count();
  if (elapsed < sample_s)
    return limit_;
  auto rate = static_cast<double>(records_) / elapsed;
  rate_ = rate_ < 0 || rate < rate_ ? rate : rate_ + smoothing * (rate - rate_);
  records_ = 0;
  since_ = now;
  auto want = std::clamp(rate_ * target_s_ / share_, double{debloat_min_batch}, 1e9);
  auto before = limit_ == 0 ? debloat_start_batch : limit_;
  limit_ = static_cast<uint32_t>(std::min(want, 2.0 * before));
  return limit_;
}

} // namespace eddy
