// Test helpers: model files written field by field, with a valid frame and CRC, so that a test
// can give a model a payload whose contents disagree with each other and check that
// eddy::ml::load_model refuses it.
//
//   auto good = payload_of(cfg, Eigen::Index{3}, weights, intercepts, accum, z, 5.0);
//   crafted_files files;
//   auto loaded = accepted<logistic_regression>(files, good);   // the layout is the model's
//   refused(files, payload_of(cfg, Eigen::Index{3}, weights, vector{}, accum, z, 5.0),
//           trained_model, "intercepts");                       // corrupt_file, model unchanged
//
// payload_of writes its arguments in order into one Boost binary archive, as the model's
// `serialize` writes its members: a test that mirrors a model's members gets the model's bytes
// (and checks it with `accepted` before damaging one field).
#pragma once

#include "../archive_bytes.hpp"

#include <eddy/ml/io/model_file.hpp>

#include <catch2/catch.hpp>

#include <filesystem>
#include <string>
#include <tuple>
#include <unistd.h>
#include <utility>

/// Fields written in order as one object, the way a model's `serialize` writes its members.
template <class... Fields>
struct archived_fields {
  /// The fields, in archive order.
  std::tuple<Fields...> fields;

  /// Saves or loads every field in order.
  template <class Archive>
  void serialize(Archive& ar, unsigned) {
    std::apply([&ar](auto&... field) { (ar & ... & field); }, fields);
  }
};

/// The Boost binary archive of `fields` written in order: a model's payload.
template <class... Fields>
std::string payload_of(Fields... fields) {
  return to_bytes(archived_fields<Fields...>{{std::move(fields)...}});
}

/// A directory for crafted model files, removed at the end.
class crafted_files {
public:
  crafted_files() { std::filesystem::create_directories(dir_); }
  ~crafted_files() { std::filesystem::remove_all(dir_); }
  crafted_files(const crafted_files&) = delete;
  crafted_files& operator=(const crafted_files&) = delete;

  /// Writes `payload` in a valid model file frame of `Model`'s kind; returns its path.
  template <class Model>
  std::string write(const std::string& payload) {
    auto path = (dir_ / ("m" + std::to_string(next_++) + ".eddy")).string();
    auto err = eddy::ml::write_file_atomically(
        path, eddy::ml::encode_model_frame(Model::model_kind, payload));
    REQUIRE_FALSE(err);
    return path;
  }

private:
  /// The directory.
  std::filesystem::path dir_ = std::filesystem::temp_directory_path() /
                               ("eddy_crafted_model_files_" + std::to_string(::getpid()));
  /// The number of the next file.
  int next_ = 0;
};

/// Loads the model file of `payload` into `model` (a copy of `start`), which must succeed: the
/// crafted layout is the model's.
template <class Model>
Model accepted(crafted_files& files, const std::string& payload, Model start = Model{}) {
  auto err = eddy::ml::load_model(files.write<Model>(payload), start);
  INFO(eddy::describe(err));
  REQUIRE_FALSE(err);
  return start;
}

/// Checks that loading the model file of `payload` into a copy of `target` fails with
/// errc::corrupt_file, with a sentence that mentions `what`, and leaves the copy as it was.
template <class Model>
void refused(crafted_files& files, const std::string& payload, const Model& target,
             const std::string& what) {
  Model model = target;
  auto before = to_bytes(model);
  auto err = eddy::ml::load_model(files.write<Model>(payload), model);
  INFO(Model::model_kind << ": " << eddy::describe(err));
  // eddy::ml::is reads the category of `err`, which an empty caf::error does not have
  const bool corrupt = err && eddy::ml::is(err, eddy::ml::errc::corrupt_file);
  CHECK(corrupt);
  CHECK(eddy::describe(err).find(what) != std::string::npos);
  CHECK(to_bytes(model) == before);
}
