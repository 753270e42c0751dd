#include <eddy/ml/model_file.hpp>

#include <eddy/ml/logistic_regression.hpp>
#include <eddy/ml/standard_scaler.hpp>

#include <catch2/catch.hpp>

#include <filesystem>
#include <fstream>
#include <random>
#include <unistd.h>

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
  // rewrite the version field and re-seal the header, as a future eddy would
  bytes[8] = static_cast<char>(model_file_version + 1);
  auto header_size = static_cast<std::size_t>(static_cast<unsigned char>(bytes[12]));
  uint32_t crc = internal::crc32c(bytes.data(), header_size - 4);
  for (int i = 0; i < 4; ++i)
    bytes[header_size - 4 + i] = static_cast<char>((crc >> (8 * i)) & 0xFFu);
  auto frame = decode_model_frame(bytes);
  REQUIRE_FALSE(frame);
  CHECK(is(frame.error(), errc::unsupported_version));
  CHECK(eddy::describe(frame.error()).find("newer") != std::string::npos);
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
