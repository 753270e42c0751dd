#include <eddy/ml/io/crc32c.hpp>

#include <catch2/catch.hpp>

#include <string>

using eddy::ml::crc32c;
using eddy::ml::crc32c_extend;

SCENARIO("crc32c gives the Castagnoli check value for \"123456789\"") {
  CHECK(crc32c("123456789", 9) == 0xE3069283u);
  CHECK(crc32c("", 0) == 0u);
}

SCENARIO("crc32c over two pieces equals crc32c over the whole") {
  std::string text = "the quick brown fox jumps over the lazy dog";
  auto whole = crc32c(text.data(), text.size());
  auto first = crc32c(text.data(), 10);
  CHECK(crc32c_extend(first, text.data() + 10, text.size() - 10) == whole);
}

SCENARIO("crc32c changes when a single bit flips") {
  std::string text(1000, 'a');
  auto before = crc32c(text.data(), text.size());
  text[500] = static_cast<char>(text[500] ^ 0x01);
  CHECK(crc32c(text.data(), text.size()) != before);
}
