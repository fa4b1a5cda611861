#include "policies/result.hpp"

#include <gtest/gtest.h>

namespace vpcnet {
namespace {

Error err(std::string file, int line, std::string field, std::string message) {
  Error e = make_error(ErrorCode::invalid_policy, std::move(message));
  e.file = std::move(file);
  e.line = line;
  e.field = std::move(field);
  return e;
}

TEST(ErrorToString, AllParts) {
  EXPECT_EQ(err("web.yaml", 7, "spec.cidrs[1]", "bad").to_string(), "web.yaml:7: spec.cidrs[1]: bad");
}

TEST(ErrorToString, OmitsUnknownParts) {
  EXPECT_EQ(err("web.yaml", 0, "spec.vpc", "bad").to_string(), "web.yaml: spec.vpc: bad");
  EXPECT_EQ(err("web.yaml", 3, "", "bad").to_string(), "web.yaml:3: bad");
  EXPECT_EQ(err("", 0, "name", "bad").to_string(), "name: bad");
  EXPECT_EQ(err("", 0, "", "bad").to_string(), "bad");
  EXPECT_EQ(err("", 4, "", "bad").to_string(), "line 4: bad");
}

TEST(Result, HoldsValueOrError) {
  Result<int> a = 3;
  ASSERT_TRUE(a.ok());
  EXPECT_EQ(*a, 3);
  Result<int> b = make_error(ErrorCode::not_found, "gone");
  ASSERT_FALSE(b);
  EXPECT_EQ(b.error().code, ErrorCode::not_found);
  EXPECT_EQ(b.error().message, "gone");
}

}  // namespace
}  // namespace vpcnet
