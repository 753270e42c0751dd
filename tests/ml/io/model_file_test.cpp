#include <eddy/ml/io/model_file.hpp>

#include <eddy/ml/features/standard_scaler.hpp>
#include <eddy/ml/linear_model/logistic_regression.hpp>

#include <catch2/catch.hpp>

#include <atomic>
#include <filesystem>
#include <fstream>
#include <random>
#include <thread>
#include <unistd.h>
#include <vector>

using namespace eddy::ml;

namespace {

/// A fresh directory for one scenario's files, removed at the end.
struct temp_dir {
  std::filesystem::path path = std::filesystem::temp_directory_path() /
                               ("eddy_model_file_test_" + std::to_string(::getpid()));
  temp_dir() { std::filesystem::create_directories(path); }
  ~temp_dir() { std::filesystem::remove_all(path); }
  std::string file(const char* name) const { return (path / name).string(); }
};

std::string read_all(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}

void write_all(const std::string& path, const std::string& bytes) {
  std::ofstream(path, std::ios::binary | std::ios::trunc) << bytes;
}

logistic_regression trained_model() {
  logistic_regression_config cfg;
  cfg.method = optimizer::ftrl;
  auto model = logistic_regression::make(4, cfg);
  REQUIRE(model);
  std::mt19937_64 rng(1);
  std::normal_distribution<double> normal;
  for (int i = 0; i < 200; ++i) {
    vector x(4);
    for (int j = 0; j < 4; ++j)
      x[j] = normal(rng);
    REQUIRE_FALSE(model->learn(x, x[0] + x[1] > 0 ? 1 : 0));
  }
  return std::move(*model);
}

void put_le(std::string& out, uint64_t value, int bytes) {
  for (int i = 0; i < bytes; ++i)
    out.push_back(static_cast<char>((value >> (8 * i)) & 0xFFu));
}

/// A frame exactly as eddy wrote it in format version 1, built byte by byte from the layout of
/// that version (kept here, not in the library, which only writes the current version):
/// "EDDYMODL" | 1 u32 | header length u32 | kind length u32 | kind | payload length u64
/// | payload CRC-32C u32 | header CRC-32C u32 | payload.
std::string version_1_frame(const std::string& kind, const std::string& payload) {
  std::string out = "EDDYMODL";
  put_le(out, 1, 4);
  put_le(out, 8 + 4 + 4 + 4 + kind.size() + 8 + 4 + 4, 4);
  put_le(out, kind.size(), 4);
  out += kind;
  put_le(out, payload.size(), 8);
  put_le(out, crc32c(payload.data(), payload.size()), 4);
  put_le(out, crc32c(out.data(), out.size()), 4);
  return out + payload;
}

/// Rewrites the 4-byte field at `at` of a frame and re-seals its header CRC, as a writer that
/// meant those bytes would.
void reseal(std::string& bytes, std::size_t at, uint32_t value) {
  for (int i = 0; i < 4; ++i)
    bytes[at + i] = static_cast<char>((value >> (8 * i)) & 0xFFu);
  std::size_t header_size = 0;
  for (int i = 0; i < 4; ++i)
    header_size |= std::size_t{static_cast<unsigned char>(bytes[12 + i])} << (8 * i);
  uint32_t crc = crc32c(bytes.data(), header_size - 4);
  for (int i = 0; i < 4; ++i)
    bytes[header_size - 4 + i] = static_cast<char>((crc >> (8 * i)) & 0xFFu);
}

} // namespace

SCENARIO("a saved model loads back with the same state and predictions") {
  temp_dir dir;
  auto model = trained_model();
  REQUIRE_FALSE(save_model(dir.file("m.eddy"), model));
  logistic_regression restored;
  REQUIRE_FALSE(load_model(dir.file("m.eddy"), restored));
  CHECK(restored.same_state(model));
  vector x = vector::Constant(4, 0.3);
  CHECK(restored.predict_proba(x) == model.predict_proba(x));
  auto frame = read_model_frame(dir.file("m.eddy"));
  REQUIRE(frame);
  CHECK(frame->version == model_file_version);
  CHECK(frame->kind == "eddy.ml.logistic_regression");
  // no temporary file is left behind
  CHECK(std::distance(std::filesystem::directory_iterator(dir.path),
                      std::filesystem::directory_iterator{}) == 1);
}

SCENARIO("a model file with any single flipped byte is refused as corrupt_file") {
  temp_dir dir;
  auto model = trained_model();
  REQUIRE_FALSE(save_model(dir.file("m.eddy"), model));
  auto bytes = read_all(dir.file("m.eddy"));
  for (std::size_t i = 0; i < bytes.size(); ++i) {
    auto damaged = bytes;
    damaged[i] = static_cast<char>(damaged[i] ^ 0x10);
    write_all(dir.file("bad.eddy"), damaged);
    logistic_regression restored = model;
    auto err = load_model(dir.file("bad.eddy"), restored);
    INFO("flipped byte " << i << ": " << eddy::describe(err));
    REQUIRE(is(err, errc::corrupt_file));
    REQUIRE(restored.same_state(model));
  }
}

SCENARIO("a truncated model file is refused as corrupt_file") {
  temp_dir dir;
  REQUIRE_FALSE(save_model(dir.file("m.eddy"), trained_model()));
  auto bytes = read_all(dir.file("m.eddy"));
  for (std::size_t size = 0; size < bytes.size(); ++size) {
    write_all(dir.file("short.eddy"), bytes.substr(0, size));
    logistic_regression restored;
    INFO("truncated to " << size << " bytes");
    REQUIRE(is(load_model(dir.file("short.eddy"), restored), errc::corrupt_file));
  }
  write_all(dir.file("long.eddy"), bytes + "x");
  logistic_regression restored;
  CHECK(is(load_model(dir.file("long.eddy"), restored), errc::corrupt_file));
}

SCENARIO("a model file of a newer format version is refused as unsupported_version") {
  auto payload = to_binary(trained_model());
  auto bytes = encode_model_frame(logistic_regression::model_kind, payload);
  reseal(bytes, 8, model_file_version + 1); // the version field, as a future eddy would write it
  auto frame = decode_model_frame(bytes);
  REQUIRE_FALSE(frame);
  CHECK(is(frame.error(), errc::unsupported_version));
  CHECK(eddy::describe(frame.error()).find("newer") != std::string::npos);
}

SCENARIO("a version 2 frame with a flag this build does not know is refused, not guessed") {
  auto bytes = encode_model_frame(logistic_regression::model_kind, to_binary(trained_model()));
  reseal(bytes, 16, 1); // the flags field
  auto frame = decode_model_frame(bytes);
  REQUIRE_FALSE(frame);
  CHECK(is(frame.error(), errc::unsupported_version));
  reseal(bytes, 8, 0); // version 0 never existed
  CHECK(is(decode_model_frame(bytes).error(), errc::corrupt_file));
}

SCENARIO("a model file of the older format version 1 loads") {
  temp_dir dir;
  auto model = trained_model();
  auto payload = to_binary(model);
  auto v1 = version_1_frame(logistic_regression::model_kind, payload);
  auto v2 = encode_model_frame(logistic_regression::model_kind, payload);
  REQUIRE(model_file_version == 2);
  CHECK(v2.size() == v1.size() + 4); // the layouts differ by the flags field
  write_all(dir.file("v1.eddy"), v1);
  logistic_regression restored;
  REQUIRE_FALSE(load_model(dir.file("v1.eddy"), restored));
  CHECK(restored.same_state(model));
  auto frame = read_model_frame(dir.file("v1.eddy"));
  REQUIRE(frame);
  CHECK(frame->version == 1);
  CHECK(frame->flags == 0);
  CHECK(frame->kind == logistic_regression::model_kind);
  // a damaged version 1 frame is refused like a damaged current one
  for (std::size_t i = 0; i < v1.size(); ++i) {
    auto damaged = v1;
    damaged[i] = static_cast<char>(damaged[i] ^ 0x01);
    INFO("flipped byte " << i);
    REQUIRE(is(decode_model_frame(damaged).error(), errc::corrupt_file));
  }
}

SCENARIO("concurrent saves to one path leave one whole model and no temporary file") {
  temp_dir dir;
  auto model = trained_model();
  std::vector<std::thread> writers;
  std::atomic<int> failures{0};
  for (int t = 0; t < 4; ++t)
    writers.emplace_back([&] {
      for (int i = 0; i < 10; ++i)
        if (save_model(dir.file("m.eddy"), model))
          ++failures;
    });
  for (auto& w : writers)
    w.join();
  CHECK(failures == 0);
  logistic_regression restored;
  REQUIRE_FALSE(load_model(dir.file("m.eddy"), restored));
  CHECK(restored.same_state(model));
  CHECK(std::distance(std::filesystem::directory_iterator(dir.path),
                      std::filesystem::directory_iterator{}) == 1);
}

SCENARIO("loading refuses another kind of model and missing files") {
  temp_dir dir;
  standard_scaler scaler(4);
  REQUIRE_FALSE(scaler.learn(vector::Ones(4)));
  REQUIRE_FALSE(save_model(dir.file("scaler.eddy"), scaler));
  logistic_regression model;
  auto err = load_model(dir.file("scaler.eddy"), model);
  CHECK(is(err, errc::invalid_argument));
  CHECK(eddy::describe(err).find("eddy.ml.standard_scaler") != std::string::npos);
  CHECK(is(load_model(dir.file("none.eddy"), model), errc::io_error));
  CHECK(is(save_model(dir.file("no/such/dir/m.eddy"), scaler), errc::io_error));
  standard_scaler restored;
  REQUIRE_FALSE(load_model(dir.file("scaler.eddy"), restored));
  CHECK(restored.mean() == scaler.mean());
}
