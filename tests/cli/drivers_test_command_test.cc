// `discoblocks drivers test` and `drivers new` as authors and CI use them:
// output, exit status, and how a target is found.
#include <fstream>
#include <regex>
#include <string>
#include <vector>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "support/test_support.h"

namespace discoblocks {
namespace {

using testing::DriversDir;
using testing::HostileDir;
using testing::RunDiscoblocks;

TEST(DriversTestCommand, ABundledDriverPassesByFolderAndByProvisioner) {
  const auto by_folder =
      RunDiscoblocks({"drivers", "test", (DriversDir() / "ebs.csi.aws.com").string()});
  EXPECT_EQ(by_folder.exit_code, 0) << by_folder.out << by_folder.err;
  EXPECT_TRUE(std::regex_search(by_folder.out, std::regex("\nPASS +IsStorageClassValid/exists +")))
      << by_folder.out;
  EXPECT_NE(by_folder.out.find("\nPASS: "), std::string::npos) << by_folder.out;

  const auto by_name = RunDiscoblocks({"drivers", "test", "csi.storageos.com", "--drivers-dir",
                                       DriversDir().string(), "-o", "json"});
  EXPECT_EQ(by_name.exit_code, 0) << by_name.err;
  const auto doc = nlohmann::json::parse(by_name.out);
  EXPECT_EQ(doc["provisioner"], "csi.storageos.com");
  EXPECT_EQ(doc["passed"], true);
  EXPECT_EQ(doc["inputs"], "built-in");
  EXPECT_EQ(doc["summary"]["fail"], 0);
  EXPECT_GT(doc["checks"].size(), 45U);  // nine functions, five checks each, and more
  for (const auto& check : doc["checks"]) {
    EXPECT_TRUE(check["name"].is_string());
    EXPECT_TRUE(check["status"] == "pass" || check["status"] == "warn") << check.dump();
    EXPECT_FALSE(check["reason"].get<std::string>().empty()) << check.dump();
  }
}

TEST(DriversTestCommand, FixturesAreUsed) {
  const auto result =
      RunDiscoblocks({"drivers", "test", (DriversDir() / "pd.csi.storage.gke.io").string(),
                      "--fixtures", testing::FixturesDir().string(), "-o", "json"});
  EXPECT_EQ(result.exit_code, 0) << result.out << result.err;
  EXPECT_EQ(nlohmann::json::parse(result.out)["inputs"], testing::FixturesDir().string());
}

TEST(DriversTestCommand, ABrokenModuleFileFailsWithExitOne) {
  const auto result = RunDiscoblocks({"drivers", "test", (HostileDir() / "trap.wasm").string(),
                                      "--timeout", "300ms", "-o", "json"});
  EXPECT_EQ(result.exit_code, 1) << result.out << result.err;
  const auto doc = nlohmann::json::parse(result.out);
  EXPECT_EQ(doc["provisioner"], "trap");  // a bare module is named after its file
  EXPECT_EQ(doc["passed"], false);
  EXPECT_EQ(doc["path"], (HostileDir() / "trap.wasm").string());
  bool trapped = false;
  for (const auto& check : doc["checks"]) {
    if (check["name"] == "IsStorageClassValid/limits") trapped = check["status"] == "fail";
  }
  EXPECT_TRUE(trapped) << result.out;
}

TEST(DriversTestCommand, AModuleThatDoesNotLinkFailsTheLoadCheck) {
  const auto result =
      RunDiscoblocks({"drivers", "test", (HostileDir() / "unknown_import.wasm").string(),
                      "--provisioner", "odd.example.com"});
  EXPECT_EQ(result.exit_code, 1) << result.out << result.err;
  EXPECT_TRUE(
      std::regex_search(result.out, std::regex("\nFAIL +module/loads +.*unknown_import.wasm")))
      << result.out;  // the file given, not the temporary link the registry loaded
  EXPECT_EQ(result.out.find("discoblocks-test-"), std::string::npos) << result.out;
  EXPECT_NE(result.out.find("drivers test odd.example.com"), std::string::npos) << result.out;
}

TEST(DriversTestCommand, CouldNotRunIsExitTwo) {
  for (const std::vector<std::string>& args : std::vector<std::vector<std::string>>{
           {"drivers", "test", "no.such.driver", "--drivers-dir", DriversDir().string()},
           {"drivers", "test", "/no/such/folder"},
           {"drivers", "test", (DriversDir() / "ebs.csi.aws.com").string(), "--fixtures",
            "/no/such/fixtures"},
           {"drivers", "test", (DriversDir() / "ebs.csi.aws.com").string(), "-o", "yaml"},
           {"drivers", "test"},
       }) {
    const auto result = RunDiscoblocks(args);
    EXPECT_EQ(result.exit_code, 2) << args.back() << ": " << result.out << result.err;
    EXPECT_FALSE(result.err.empty()) << args.back();
  }
}

TEST(DriversNewCommand, RefusesBadNamesUnknownLanguagesAndNonEmptyFolders) {
  testing::TempDir dir;
  EXPECT_EQ(RunDiscoblocks({"drivers", "new", "bad name", "--lang", "go", "--output",
                            (dir.path() / "a").string()})
                .exit_code,
            2);
  EXPECT_EQ(RunDiscoblocks({"drivers", "new", "x.example.com", "--lang", "rust", "--output",
                            (dir.path() / "b").string()})
                .exit_code,
            2);
  std::ofstream(dir.path() / "keep.txt") << "mine";
  const auto result = RunDiscoblocks(
      {"drivers", "new", "x.example.com", "--lang", "go", "--output", dir.path().string()});
  EXPECT_EQ(result.exit_code, 2);
  EXPECT_NE(result.err.find("refusing to overwrite"), std::string::npos) << result.err;
  EXPECT_EQ(RunDiscoblocks({"drivers", "new", "x.example.com", "--lang", "cpp", "--output",
                            (dir.path() / "c").string(), "--sdk", "/no/such/sdk"})
                .exit_code,
            2);
}

TEST(DriversNewCommand, WritesEveryFileWithThePlaceholdersFilledIn) {
  testing::TempDir dir;
  for (const std::string lang : {"go", "cpp"}) {
    const auto out = dir.path() / lang;
    const auto result =
        RunDiscoblocks({"drivers", "new", "Hello.csi.example.com", "--lang", lang, "--output",
                        out.string(), "--sdk", (testing::SourceDir() / "sdk").string()});
    ASSERT_EQ(result.exit_code, 0) << result.err;
    const std::vector<std::string> files =
        lang == "go" ? std::vector<std::string>{"main.go",  "main_test.go", "go.mod",    "go.sum",
                                                "Makefile", "README.md",    ".gitignore"}
                     : std::vector<std::string>{"main.cc",  "driver.h",  "driver_test.cc",
                                                "Makefile", "README.md", ".gitignore"};
    for (const std::string& file : files) {
      EXPECT_TRUE(std::filesystem::exists(out / file)) << lang << " " << file;
    }
    for (const char* fixture :
         {"fixtures/storageclasses/sc.json", "fixtures/nodes/node.json",
          "fixtures/persistentvolumes/pv.json", "fixtures/volumeattachments/va.json"}) {
      const auto text = testing::ReadBytes(out / fixture);
      EXPECT_FALSE(nlohmann::json::parse(text, nullptr, false).is_discarded()) << fixture;
      EXPECT_EQ(text.find("{{"), std::string::npos) << fixture;  // JSON has no "{{"
    }
    for (const std::string& file : files) {
      const auto text = testing::ReadBytes(out / file);
      EXPECT_FALSE(std::regex_search(text, std::regex(R"(\{\{[A-Z_]+\}\})")))
          << lang << " " << file;
    }
    const auto sc =
        nlohmann::json::parse(testing::ReadBytes(out / "fixtures/storageclasses/sc.json"));
    EXPECT_EQ(sc["provisioner"], "Hello.csi.example.com");
    EXPECT_EQ(sc["metadata"]["name"], "hello.csi.example.com");  // names are lower case
  }
  EXPECT_NE(testing::ReadBytes(dir.path() / "go" / "go.mod").find("fastjson"), std::string::npos);
}

}  // namespace
}  // namespace discoblocks
