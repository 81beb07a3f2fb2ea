// Checks the descriptor sets the consumer made from pcusage's proto_library targets (descriptor_set.bzl): each
// describes the whole API with every import resolved, as a code generator for any language would need it.
#include <cstdio>
#include <fstream>
#include <map>
#include <memory>
#include <sstream>
#include <string>
#include <vector>

#include "google/protobuf/descriptor.h"
#include "google/protobuf/descriptor.pb.h"
#include "google/protobuf/descriptor_database.h"
#include "gtest/gtest.h"

namespace {

using ::google::protobuf::DescriptorPool;
using ::google::protobuf::FieldDescriptor;
using ::google::protobuf::FileDescriptorProto;
using ::google::protobuf::FileDescriptorSet;
using ::google::protobuf::SimpleDescriptorDatabase;

// The descriptor set files, from the command line (BUILD: $(rootpaths :pcusage_api)).
std::vector<std::string> g_descriptor_sets;

// A pool over one descriptor set file, with the database it builds from on demand.
struct Pool {
  SimpleDescriptorDatabase database;
  std::unique_ptr<DescriptorPool> pool;
};

std::unique_ptr<Pool> Load(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream bytes;
  bytes << in.rdbuf();
  FileDescriptorSet set;
  if (!in || !set.ParseFromString(bytes.str()) || set.file_size() == 0) {
    ADD_FAILURE() << path << " is not a readable, non-empty FileDescriptorSet";
    return nullptr;
  }
  auto pool = std::make_unique<Pool>();
  std::map<std::string, std::string> seen;  // name -> serialized file
  for (const FileDescriptorProto& file : set.file()) {
    // Concatenated sets may hold a file more than once; each copy must be the same file.
    auto [it, inserted] = seen.emplace(file.name(), file.SerializeAsString());
    if (!inserted) {
      EXPECT_EQ(it->second, file.SerializeAsString()) << file.name() << " differs between descriptor sets";
      continue;
    }
    EXPECT_TRUE(pool->database.Add(file)) << file.name();
  }
  pool->pool = std::make_unique<DescriptorPool>(&pool->database);
  return pool;
}

// The descriptor set file among g_descriptor_sets whose name ends with `suffix`.
std::string SetEndingWith(const std::string& suffix) {
  for (const std::string& path : g_descriptor_sets) {
    if (path.size() >= suffix.size() && path.compare(path.size() - suffix.size(), suffix.size(), suffix) == 0) {
      return path;
    }
  }
  ADD_FAILURE() << "no descriptor set ending with " << suffix;
  return "";
}

// Fails unless the descriptor set at `path` describes pcusage's API with every import resolved.
void ExpectDescribesTheApi(const std::string& path) {
  SCOPED_TRACE(path);
  std::unique_ptr<Pool> loaded = Load(path);
  ASSERT_NE(loaded, nullptr);
  const DescriptorPool& pool = *loaded->pool;

  const auto* file = pool.FindFileByName("partnercenter/usage/v1/usage_records.proto");
  ASSERT_NE(file, nullptr) << "usage_records.proto is not under its import path";
  for (const char* import :
       {"google/protobuf/duration.proto", "google/protobuf/timestamp.proto", "google/type/decimal.proto"}) {
    EXPECT_NE(pool.FindFileByName(import), nullptr) << import;
  }

  const auto* service = pool.FindServiceByName("partnercenter.usage.v1.UsageRecordsService");
  ASSERT_NE(service, nullptr);
  const auto* method = service->FindMethodByName("ListUsageRecords");
  ASSERT_NE(method, nullptr);
  EXPECT_TRUE(method->server_streaming());
  EXPECT_FALSE(method->client_streaming());
  EXPECT_EQ(method->output_type()->full_name(), "partnercenter.usage.v1.ListUsageRecordsResponse");

  const auto* record = pool.FindMessageTypeByName("partnercenter.usage.v1.CustomerMonthlyUsageRecord");
  ASSERT_NE(record, nullptr);
  const FieldDescriptor* total_cost = record->FindFieldByName("total_cost");
  ASSERT_NE(total_cost, nullptr);
  ASSERT_EQ(total_cost->type(), FieldDescriptor::TYPE_MESSAGE);
  EXPECT_EQ(total_cost->message_type()->full_name(), "google.type.Decimal");

  // The error details pcusage's errors carry.
  for (const char* message :
       {"google.rpc.Status", "google.rpc.ErrorInfo", "google.rpc.RetryInfo", "google.rpc.BadRequest"}) {
    EXPECT_NE(pool.FindMessageTypeByName(message), nullptr) << message;
  }
}

TEST(DescriptorSetTest, ProtocWithTheImportPathsOfProtoInfo) { ExpectDescribesTheApi(SetEndingWith(".protoc.bin")); }

TEST(DescriptorSetTest, BazelsOwnTransitiveDescriptorSets) { ExpectDescribesTheApi(SetEndingWith(".bazel.bin")); }

}  // namespace

int main(int argc, char** argv) {
  ::testing::InitGoogleTest(&argc, argv);
  for (int i = 1; i < argc; ++i) g_descriptor_sets.emplace_back(argv[i]);
  if (g_descriptor_sets.size() != 2) {
    fprintf(stderr, "usage: proto_library_test PROTOC_SET BAZEL_SET (got %zu files)\n", g_descriptor_sets.size());
    return 2;
  }
  return RUN_ALL_TESTS();
}
