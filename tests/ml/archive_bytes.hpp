// Test helpers: a model's state as the bytes of a Boost binary archive, and back.
//
// Unlike eddy::ml::to_binary / from_binary these go straight through the archive, so a damaged
// archive throws as it would inside `serialize`, and a test can compare two states byte by byte.
//
//   auto before = to_bytes(model);
//   CHECK(model.learn(bad, 1));
//   CHECK(to_bytes(model) == before);
//   auto restored = from_bytes<eddy::ml::hoeffding_tree>(before);
#pragma once

#include <boost/archive/binary_iarchive.hpp>
#include <boost/archive/binary_oarchive.hpp>

#include <sstream>
#include <string>

/// The state of `model` as a Boost binary archive.
template <class T>
std::string to_bytes(const T& model) {
  std::ostringstream out;
  {
    boost::archive::binary_oarchive archive{out};
    archive << model;
  }
  return out.str();
}

/// Loads `model` from bytes made by to_bytes (throws what the archive or `serialize` throws).
template <class T>
void load_bytes(const std::string& bytes, T& model) {
  std::istringstream in{bytes};
  boost::archive::binary_iarchive archive{in};
  archive >> model;
}

/// A default-constructed `T` loaded from bytes made by to_bytes.
template <class T>
T from_bytes(const std::string& bytes) {
  T model;
  load_bytes(bytes, model);
  return model;
}
