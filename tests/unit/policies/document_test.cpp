#include "policies/document.hpp"

#include <gtest/gtest.h>

namespace vpcnet {
namespace {

const char* kTwoDocs = R"(kind: Vpc
name: prod
spec:
  cidrs: [10.0.0.0/16]
---
kind: subnet
name: web
spec:
  vpc: prod
  cidrs:
    - 10.0.1.0/24
---
)";

TEST(ParseDocuments, SplitsStreamAndSkipsEmptyDocuments) {
  auto docs = parse_documents(kTwoDocs, "a.yaml");
  ASSERT_TRUE(docs) << docs.error().to_string();
  ASSERT_EQ(docs->size(), 2u);
  EXPECT_EQ((*docs)[0].kind, "Vpc");
  EXPECT_EQ((*docs)[0].name, "prod");
  EXPECT_EQ((*docs)[0].file, "a.yaml");
  EXPECT_EQ((*docs)[0].line, 1);
  EXPECT_EQ((*docs)[1].kind, "Subnet");  // matched case-insensitively, stored canonically
  EXPECT_EQ((*docs)[1].line, 6);
  EXPECT_TRUE((*docs)[1].spec.IsMap());
  EXPECT_EQ((*docs)[1].line_of((*docs)[1].spec["cidrs"], 0), 11);  // marks survive (the list starts on 11)
}

TEST(ParseDocuments, EmptyInputIsNoDocuments) {
  for (const char* text : {"", "---\n", "# only a comment\n", "---\n---\n...\n"}) {
    auto docs = parse_documents(text, "e.yaml");
    ASSERT_TRUE(docs) << text << ": " << docs.error().to_string();
    EXPECT_TRUE(docs->empty()) << text;
  }
}

struct BadDoc {
  const char* text;
  int line;
  const char* field;
  const char* message_part;
};

class ParseDocumentsError : public ::testing::TestWithParam<BadDoc> {};

TEST_P(ParseDocumentsError, ReportsFileLineField) {
  const BadDoc& c = GetParam();
  auto docs = parse_documents(c.text, "bad.yaml");
  ASSERT_FALSE(docs) << c.text;
  const Error& e = docs.error();
  EXPECT_EQ(e.code, ErrorCode::invalid_policy);
  EXPECT_EQ(e.file, "bad.yaml");
  EXPECT_EQ(e.line, c.line) << e.to_string();
  EXPECT_EQ(e.field, c.field) << e.to_string();
  EXPECT_NE(e.message.find(c.message_part), std::string::npos) << e.to_string();
}

INSTANTIATE_TEST_SUITE_P(
    All, ParseDocumentsError,
    ::testing::Values(
        BadDoc{"kind: Vpc\nname: prod\nspec:\n  cidrs: [10.0.0.0/16\n  x: 1\n", 5, "", "YAML syntax error"},
        BadDoc{"kind: Vpc\nname: prod\nspec: {a: 1\n", 4, "", "YAML syntax error"},
        BadDoc{"- kind: Vpc\n", 1, "", "expected a map"},
        BadDoc{"just a scalar\n", 1, "", "expected a map"},
        BadDoc{"name: prod\nspec: {}\n", 1, "kind", "missing"},
        BadDoc{"kind: Vpc\nspec: {}\n", 1, "name", "missing"},
        BadDoc{"kind: Vpc\nname: prod\n", 1, "spec", "missing"},
        BadDoc{"kind: Vpcs\nname: prod\nspec: {}\n", 1, "kind", "unknown kind 'Vpcs'"},
        BadDoc{"kind: [Vpc]\nname: prod\nspec: {}\n", 1, "kind", "expected one of Host, Vpc, SecurityGroup, Subnet, Interface, NetworkAcl"},
        BadDoc{"kind: Vpc\nname: Prod\nspec: {}\n", 2, "name", "'Prod'"},
        BadDoc{"kind: Vpc\nname: -prod\nspec: {}\n", 2, "name", "not valid"},
        BadDoc{"kind: Vpc\nname: prod-\nspec: {}\n", 2, "name", "not valid"},
        BadDoc{"kind: Vpc\nname: pr_od\nspec: {}\n", 2, "name", "not valid"},
        BadDoc{"kind: Vpc\nname:\nspec: {}\n", 2, "name", "not valid"},
        BadDoc{"kind: Vpc\nname: prod\nspec: [1]\n", 3, "spec", "expected a map"},
        BadDoc{"kind: Vpc\nname: prod\nspec: {}\nlabels: {}\n", 4, "labels", "unknown field 'labels'"},
        BadDoc{"kind: Vpc\nname: prod\nname: other\nspec: {}\n", 3, "name", "twice"},
        BadDoc{"kind: Vpc\nname: prod\nspec: {}\n---\nkind: VPC\nname: prod\nspec: {}\n", 5, "name",
               "defined twice"},
        BadDoc{"kind: Vpc\nname: prod\nspec: {}\n---\n\n\nkind: Vpc\nname: x\nspec: {}\nfoo: 1\n", 10, "foo",
               "unknown field"}));

TEST(ParseDocuments, NameLengthLimit) {
  std::string ok(63, 'a');
  EXPECT_TRUE(parse_documents("kind: Vpc\nname: " + ok + "\nspec: {}\n", "f"));
  EXPECT_FALSE(parse_documents("kind: Vpc\nname: " + ok + "a\nspec: {}\n", "f"));
  EXPECT_TRUE(valid_object_name("a"));
  EXPECT_TRUE(valid_object_name("0-a"));
  EXPECT_FALSE(valid_object_name(""));
  EXPECT_FALSE(valid_object_name("a.b"));
}

TEST(ParseDocuments, NeverThrowsOnHostileInput) {
  for (std::string text : {std::string("\xff\xfe\x00\x01", 4), std::string(100000, '['), std::string("&a [*a]"),
                           std::string("kind: Vpc\nname: x\nspec: &a {cidrs: [*a]}\n"), std::string("*unknown"),
                           std::string("!<tag:yaml.org,2002:binary> AAAA"), std::string("{{{{}}}}")}) {
    EXPECT_NO_THROW({ auto r = parse_documents(text, "h.yaml"); (void)r; });
  }
}

TEST(ParseDocuments, InputThatHangsYamlCppIsRejected) {
  // yaml-cpp 0.7 loops forever in LoadAll on these; parse_documents must stop.
  for (const char* text : {"!,", "kind: Vpc\nname: a\nspec: !,\n"}) {
    auto docs = parse_documents(text, "h.yaml");
    ASSERT_FALSE(docs) << text;
    EXPECT_NE(docs.error().message.find("YAML syntax error"), std::string::npos);
  }
}

TEST(ParseDocuments, LargeValidInputIsNotLimited) {
  std::string text;
  for (int i = 0; i < 2000; ++i) {
    text += "---\nkind: Vpc\nname: v" + std::to_string(i) + "\nspec: {cidrs: [[], [[]], {}, ~, [a, b]]}\n";
  }
  auto docs = parse_documents(text, "big.yaml");
  ASSERT_TRUE(docs) << docs.error().to_string();
  EXPECT_EQ(docs->size(), 2000u);
}

TEST(ParseDocuments, KeepsEachDocumentsSourceText) {
  const char* text = "# the prod VPC\nkind: Vpc\nname: prod\nspec:\n  cidrs: [10.0.0.0/16]  # v4 only\n"
                     "--- # web tier\nkind: Subnet\nname: web\nspec: {vpc: prod, cidrs: [10.0.1.0/24]}\n";
  auto docs = parse_documents(text, "a.yaml");
  ASSERT_TRUE(docs) << docs.error().to_string();
  ASSERT_EQ(docs->size(), 2u);
  EXPECT_EQ((*docs)[0].source, "# the prod VPC\nkind: Vpc\nname: prod\nspec:\n  cidrs: [10.0.0.0/16]  # v4 only\n");
  EXPECT_EQ((*docs)[1].source, "kind: Subnet\nname: web\nspec: {vpc: prod, cidrs: [10.0.1.0/24]}\n");
  EXPECT_EQ((*docs)[0].line, 2);
  EXPECT_EQ((*docs)[1].line, 7);
  EXPECT_EQ((*docs)[1].line_of((*docs)[1].spec, 0), 9);
  // The state persists what was written, comments included.
  DesiredState state;
  for (auto& d : *docs) state.put(d);
  EXPECT_NE(state.to_yaml().find("cidrs: [10.0.0.0/16]  # v4 only"), std::string::npos) << state.to_yaml();
}

TEST(ParseDocuments, DocumentEndMarkersSplitToo) {
  auto docs = parse_documents("kind: Vpc\nname: a\nspec: {}\n...\nkind: Vpc\nname: b\nspec: {}\n", "m.yaml");
  ASSERT_TRUE(docs) << docs.error().to_string();
  ASSERT_EQ(docs->size(), 2u);
  EXPECT_EQ((*docs)[1].name, "b");
  EXPECT_EQ((*docs)[1].line, 5);
}

TEST(ParseDocuments, OtherShapesTakeTheGeneralPath) {
  // A flow-map root, a directive (the whole stream is one piece), and a
  // flow map with one more document after it in the same piece.
  auto flow = parse_documents("---\n{kind: Vpc, name: a, spec: {}}\n", "f.yaml");
  ASSERT_TRUE(flow) << flow.error().to_string();
  ASSERT_EQ(flow->size(), 1u);
  EXPECT_EQ((*flow)[0].line, 2);
  auto directive = parse_documents("%YAML 1.2\n---\nkind: Vpc\nname: a\nspec: {}\n", "d.yaml");
  ASSERT_TRUE(directive) << directive.error().to_string();
  ASSERT_EQ(directive->size(), 1u);
  EXPECT_TRUE((*directive)[0].source.empty());  // persisted as canonical YAML
  EXPECT_NE((*directive)[0].to_yaml().find("name: a"), std::string::npos);
  auto two = parse_documents("{kind: Vpc, name: a, spec: {}}\nname: b\n", "t.yaml");
  ASSERT_FALSE(two);
  EXPECT_EQ(two.error().field, "kind");
}

TEST(ParseDocuments, MarkersOnlyAtColumnZero) {
  // " ---" inside a block scalar is text, not a marker.
  auto docs = parse_documents("kind: Vpc\nname: a\nspec:\n  note: |\n    ---\n    ...\n", "c.yaml");
  ASSERT_TRUE(docs) << docs.error().to_string();
  ASSERT_EQ(docs->size(), 1u);
  EXPECT_EQ((*docs)[0].spec["note"].Scalar(), "---\n...\n");
}

TEST(CanonicalKind, MatchesCaseInsensitively) {
  EXPECT_EQ(canonical_kind("INTERFACE"), "Interface");
  EXPECT_EQ(canonical_kind("vpc"), "Vpc");
  EXPECT_FALSE(canonical_kind("Firewall"));
  EXPECT_FALSE(canonical_kind(""));
  EXPECT_EQ(canonical_kind("securitygroup"), "SecurityGroup");
  EXPECT_EQ(canonical_kind("NETWORKACL"), "NetworkAcl");
  EXPECT_EQ(canonical_kind("routetable"), "RouteTable");
  EXPECT_EQ(known_kinds(), (std::vector<std::string>{"Host", "Vpc", "SecurityGroup", "Subnet", "Interface", "NetworkAcl",
                                                     "RouteTable"}));  // decode order: dependencies first, ties by name
}

TEST(DesiredState, PutEraseFindOfKind) {
  auto docs = parse_documents(kTwoDocs, "a.yaml");
  ASSERT_TRUE(docs);
  DesiredState s;
  for (auto& d : *docs) s.put(d);
  EXPECT_EQ(s.documents().size(), 2u);
  ASSERT_NE(s.find("Vpc", "prod"), nullptr);
  EXPECT_NE(s.find("vpc", "prod"), nullptr);
  EXPECT_EQ(s.find("Vpc", "web"), nullptr);
  EXPECT_EQ(s.of_kind("Subnet").size(), 1u);
  EXPECT_EQ(s.of_kind("Interface").size(), 0u);

  // put replaces a document with the same kind and name
  Document replacement = (*docs)[1];
  replacement.line = 42;
  s.put(replacement);
  EXPECT_EQ(s.documents().size(), 2u);
  EXPECT_EQ(s.find("Subnet", "web")->line, 42);

  EXPECT_TRUE(s.erase("subnet", "web"));
  EXPECT_FALSE(s.erase("Subnet", "web"));
  EXPECT_EQ(s.documents().size(), 1u);
}

TEST(DesiredState, YamlRoundTrip) {
  const char* text = R"(kind: Interface
name: web1
spec:
  port: web1
  subnet: web
  mac: "02:00:00:00:01:0a"
  ips: [10.0.1.10, "fd00:10:0:1::10"]
---
kind: Vpc
name: prod
spec:
  cidrs: [10.0.0.0/16, "fd00:10::/48"]
  routerMac: 02:76:70:63:00:01
---
kind: Subnet
name: web
spec: {vpc: prod, cidrs: [10.0.1.0/24]}
)";
  auto s1 = DesiredState::from_yaml(text, "in.yaml");
  ASSERT_TRUE(s1) << s1.error().to_string();
  std::string y1 = s1->to_yaml();
  auto s2 = DesiredState::from_yaml(y1, "state.yaml");
  ASSERT_TRUE(s2) << s2.error().to_string() << "\n" << y1;
  EXPECT_EQ(s2->to_yaml(), y1);  // stable once canonical
  ASSERT_EQ(s2->documents().size(), 3u);
  for (const auto& [key, doc] : s1->documents()) {
    const Document* other = s2->find(key.first, key.second);
    ASSERT_NE(other, nullptr) << key.first << "/" << key.second;
    EXPECT_EQ(other->to_yaml(), doc.to_yaml());
    EXPECT_EQ(other->file, "state.yaml");
  }
  const Document* iface = s2->find("Interface", "web1");
  EXPECT_EQ(iface->spec["ips"][1].Scalar(), "fd00:10:0:1::10");
  EXPECT_EQ(iface->spec["mac"].Scalar(), "02:00:00:00:01:0a");
  // Referenced kinds come first in the persisted stream.
  EXPECT_LT(y1.find("kind: Vpc"), y1.find("kind: Subnet"));
  EXPECT_LT(y1.find("kind: Subnet"), y1.find("kind: Interface"));
}

TEST(DesiredState, FromYamlPropagatesErrors) {
  auto s = DesiredState::from_yaml("kind: Nope\nname: a\nspec: {}\n", "s.yaml");
  ASSERT_FALSE(s);
  EXPECT_EQ(s.error().field, "kind");
  EXPECT_EQ(s.error().file, "s.yaml");
}

TEST(Document, ToYamlWithEmptySpec) {
  auto docs = parse_documents("kind: Vpc\nname: a\nspec: {}\n", "f");
  ASSERT_TRUE(docs);
  auto again = parse_documents((*docs)[0].to_yaml(), "g");
  ASSERT_TRUE(again) << (*docs)[0].to_yaml();
  EXPECT_EQ((*again)[0].name, "a");
}

}  // namespace
}  // namespace vpcnet
