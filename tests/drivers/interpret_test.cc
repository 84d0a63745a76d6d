// The contract's outcome table, row by row, on synthetic run results.
#include <string>

#include <gtest/gtest.h>

#include "drivers/interpret.h"

namespace discoblocks::drivers {
namespace {

wasm::RunResult Ran(std::string out, std::string err = "") {
  wasm::RunResult run;
  run.stdout_data = std::move(out);
  run.stderr_data = std::move(err);
  return run;
}

Outcome Interpret(Function function, wasm::RunResult run) {
  return drivers::Interpret("example.csi.io", SpecOf(function), std::move(run));
}

TEST(InterpretTest, FailedRunIsAnErrorNamingDriverFunctionAndCause) {
  wasm::RunResult run = Ran("true");
  run.status = wasm::RunStatus::kTimeLimit;
  run.detail = "time limit of 2000 ms exceeded";
  const Outcome outcome = Interpret(Function::kIsStorageClassValid, run);
  EXPECT_EQ(outcome.kind, OutcomeKind::kError);
  EXPECT_EQ(outcome.cause, ErrorCause::kTimeLimit);
  EXPECT_EQ(outcome.reason,
            "driver example.csi.io: IsStorageClassValid: time limit of 2000 ms exceeded");
}

TEST(InterpretTest, FailureInInitializerSaysSoAndCarriesStderr) {
  wasm::RunResult run = Ran("", "panic: boom\n");
  run.status = wasm::RunStatus::kExit;
  run.exit_code = 2;
  run.detail = "exited with code 2";
  run.in_initializer = true;
  const Outcome outcome = Interpret(Function::kGetPVCStub, run);
  EXPECT_EQ(outcome.kind, OutcomeKind::kError);
  EXPECT_EQ(outcome.reason,
            "driver example.csi.io: GetPVCStub: exited with code 2 (in the module's initializer); "
            "stderr: panic: boom");
}

TEST(InterpretTest, TrueWithEmptyStderrIsValid) {
  const Outcome outcome = Interpret(Function::kIsStorageClassValid, Ran("true\n"));
  EXPECT_EQ(outcome.kind, OutcomeKind::kValid);
  EXPECT_TRUE(outcome.warnings.empty());
}

TEST(InterpretTest, TrueWithStderrIsValidWithAWarning) {
  const Outcome outcome =
      Interpret(Function::kIsStorageClassValid, Ran("true", "  gp2 is deprecated\n"));
  EXPECT_EQ(outcome.kind, OutcomeKind::kValid);
  ASSERT_EQ(outcome.warnings.size(), 1U);
  EXPECT_EQ(outcome.warnings[0], "gp2 is deprecated");
}

// The API server drops a warning with a control character or invalid UTF-8
// (warnings travel in an HTTP header), so such stderr must still arrive.
TEST(InterpretTest, WarningsHaveControlCharactersReplaced) {
  const Outcome outcome = Interpret(Function::kIsStorageClassValid,
                                    Ran("true", "gp2 is deprecated;\r\n\tuse gp3\x1b[0m\x7f!\n"));
  ASSERT_EQ(outcome.warnings.size(), 1U);
  EXPECT_EQ(outcome.warnings[0], "gp2 is deprecated; use gp3 [0m !");
}

TEST(InterpretTest, WarningsAreValidUtf8) {
  EXPECT_EQ(SanitizeWarning("caf\xC3\xA9 \xE2\x82\xAC \xF0\x9F\x92\xBE"),
            "caf\xC3\xA9 \xE2\x82\xAC \xF0\x9F\x92\xBE");
  // A stray continuation byte, a truncated sequence, an overlong '/', a
  // surrogate, a code point above U+10FFFF: each undecodable byte is U+FFFD.
  EXPECT_EQ(SanitizeWarning("a\x80"
                            "b"),
            "a\xEF\xBF\xBD"
            "b");
  EXPECT_EQ(SanitizeWarning("a\xE2\x82"), "a\xEF\xBF\xBD\xEF\xBF\xBD");
  EXPECT_EQ(SanitizeWarning("\xC0\xAF"), "\xEF\xBF\xBD\xEF\xBF\xBD");
  EXPECT_EQ(SanitizeWarning("\xED\xA0\x80").find('\xED'), std::string::npos);
  EXPECT_EQ(SanitizeWarning("\xF4\x90\x80\x80").find('\xF4'), std::string::npos);
  // C1 controls (U+0080..U+009F) are control characters too; U+00A0 is not.
  EXPECT_EQ(SanitizeWarning("a\xC2\x85"
                            "b\xC2\xA0"
                            "c"),
            "a b\xC2\xA0"
            "c");
  EXPECT_EQ(SanitizeWarning(std::string("nul\0byte", 8)), "nul byte");
}

TEST(InterpretTest, LongWarningsAreCutOnACharacterBoundary) {
  std::string long_text;
  for (int i = 0; i < 300; ++i) long_text += "\xC3\xA9";  // é, two bytes each
  const Outcome outcome = Interpret(Function::kIsStorageClassValid, Ran("true", long_text));
  ASSERT_EQ(outcome.warnings.size(), 1U);
  const std::string& warning = outcome.warnings[0];
  std::string expected;
  for (std::size_t i = 0; i < kMaxWarningCharacters - 3; ++i) expected += "\xC3\xA9";
  EXPECT_EQ(warning, expected + "...");
  // Exactly the limit is kept whole.
  const std::string at_limit(kMaxWarningCharacters, 'x');
  EXPECT_EQ(SanitizeWarning(at_limit), at_limit);
  EXPECT_EQ(SanitizeWarning(at_limit + "y"), std::string(kMaxWarningCharacters - 3, 'x') + "...");
}

TEST(InterpretTest, FalseIsInvalidWithStderrAsReason) {
  const Outcome outcome = Interpret(Function::kIsStorageClassValid,
                                    Ran("false", "only allowVolumeExpansion true is supported\n"));
  EXPECT_EQ(outcome.kind, OutcomeKind::kInvalid);
  EXPECT_EQ(outcome.reason, "only allowVolumeExpansion true is supported");
}

TEST(InterpretTest, FalseWithEmptyStderrIsInvalidWithAGenericReason) {
  // The original dereferenced a nil error here and crashed the webhook.
  const Outcome outcome = Interpret(Function::kIsStorageClassValid, Ran("false"));
  EXPECT_EQ(outcome.kind, OutcomeKind::kInvalid);
  EXPECT_EQ(outcome.reason,
            "driver example.csi.io rejected the StorageClass without giving a reason");
}

TEST(InterpretTest, BooleansParseLikeGo) {
  for (const char* yes : {"1", "t", "T", "TRUE", "true", "True", " true\n"}) {
    EXPECT_EQ(ParseBool(yes), true) << yes;
  }
  for (const char* no : {"0", "f", "F", "FALSE", "false", "False"}) {
    EXPECT_EQ(ParseBool(no), false) << no;
  }
  for (const char* neither : {"", "yes", "tRUE", "true false", "2"}) {
    EXPECT_EQ(ParseBool(neither), std::nullopt) << neither;
  }
}

TEST(InterpretTest, NonBooleanIsAnUnparsableOutputErrorQuotingAShortPrefix) {
  const Outcome outcome =
      Interpret(Function::kIsStorageClassValid, Ran("maybe" + std::string(500, 'x')));
  EXPECT_EQ(outcome.kind, OutcomeKind::kError);
  EXPECT_EQ(outcome.cause, ErrorCause::kBadOutput);
  EXPECT_NE(outcome.reason.find("unparsable output"), std::string::npos);
  EXPECT_NE(outcome.reason.find("\"maybe"), std::string::npos);
  EXPECT_LT(outcome.reason.size(), 200U);
}

TEST(InterpretTest, NoBooleanButStderrIsAnErrorCarryingStderr) {
  const Outcome outcome =
      Interpret(Function::kIsStorageClassValid, Ran("", "STORAGE_CLASS_JSON is not valid JSON"));
  EXPECT_EQ(outcome.kind, OutcomeKind::kError);
  EXPECT_NE(outcome.reason.find("STORAGE_CLASS_JSON is not valid JSON"), std::string::npos);
}

TEST(InterpretTest, IsFileSystemManagedFalseIsAnOkValue) {
  const Outcome outcome = Interpret(Function::kIsFileSystemManaged, Ran("false"));
  EXPECT_EQ(outcome.kind, OutcomeKind::kOk);
  EXPECT_EQ(outcome.result, false);
}

TEST(InterpretTest, JsonFunctionWithStderrAndNoStdoutIsAnErrorCarryingStderr) {
  const Outcome outcome =
      Interpret(Function::kGetStorageClassAllowedTopology,
                Ran("", "metadata.labels.'topology.kubernetes.io/zone' not found"));
  EXPECT_EQ(outcome.kind, OutcomeKind::kError);
  EXPECT_EQ(outcome.cause, ErrorCause::kDriverReported);
  EXPECT_EQ(outcome.reason,
            "driver example.csi.io: GetStorageClassAllowedTopology: "
            "metadata.labels.'topology.kubernetes.io/zone' not found");
}

TEST(InterpretTest, EmptyTopologyMeansNoRestriction) {
  const Outcome outcome = Interpret(Function::kGetStorageClassAllowedTopology, Ran(""));
  EXPECT_EQ(outcome.kind, OutcomeKind::kOk);
  EXPECT_EQ(outcome.result, nlohmann::json::array());
}

TEST(InterpretTest, TopologyOfTheWrongShapeIsAnError) {
  for (const char* bad : {"{}", "[1]", "[{\"matchLabelExpressions\":[{\"values\":[\"a\"]}]}]",
                          "[{\"matchLabelExpressions\":[{\"key\":\"k\",\"values\":[1]}]}]",
                          "[{\"matchLabelExpressions\":", "not json"}) {
    const Outcome outcome = Interpret(Function::kGetStorageClassAllowedTopology, Ran(bad));
    EXPECT_EQ(outcome.kind, OutcomeKind::kError) << bad;
    EXPECT_EQ(outcome.cause, ErrorCause::kBadOutput) << bad;
  }
}

TEST(InterpretTest, PvcStubMustBeAPersistentVolumeClaim) {
  EXPECT_EQ(Interpret(Function::kGetPVCStub, Ran("{\"kind\":\"PersistentVolumeClaim\"}")).kind,
            OutcomeKind::kOk);
  EXPECT_EQ(Interpret(Function::kGetPVCStub, Ran("{\"kind\":\"Pod\"}")).kind, OutcomeKind::kError);
  EXPECT_EQ(Interpret(Function::kGetPVCStub, Ran("")).kind, OutcomeKind::kError);
}

// The result is copied on its way to callers, and copying recurses: output
// nested deeper than the limit is bad output, not a crash.
TEST(InterpretTest, OutputNestedTooDeeplyIsBadOutputNamingTheLimit) {
  constexpr std::size_t kDeep = 200'000;
  const std::string stub = R"({"kind":"PersistentVolumeClaim","spec":)" + std::string(kDeep, '[') +
                           std::string(kDeep, ']') + "}";
  const std::string topology = std::string(kDeep, '[') + std::string(kDeep, ']');
  for (const auto& [function, out] :
       {std::pair{Function::kGetPVCStub, stub},
        std::pair{Function::kGetStorageClassAllowedTopology, topology}}) {
    const Outcome outcome = Interpret(function, Ran(out));
    EXPECT_EQ(outcome.kind, OutcomeKind::kError);
    EXPECT_EQ(outcome.cause, ErrorCause::kBadOutput);
    EXPECT_NE(outcome.reason.find("driver example.csi.io: "), std::string::npos) << outcome.reason;
    EXPECT_NE(outcome.reason.find(": output: nested deeper than the limit of 100 levels"),
              std::string::npos)
        << outcome.reason;
  }
}

// Checked before parsing, whatever the stdout limit: nothing larger than etcd
// accepts is a usable Kubernetes object.
TEST(InterpretTest, OutputTooLargeIsBadOutputNamingTheLimit) {
  const std::string padding(std::size_t{2} << 20, 'x');
  const std::string stub =
      R"({"kind":"PersistentVolumeClaim","metadata":{"annotations":{"a":")" + padding + "\"}}}";
  const Outcome outcome = Interpret(Function::kGetPVCStub, Ran(stub));
  EXPECT_EQ(outcome.kind, OutcomeKind::kError);
  EXPECT_EQ(outcome.cause, ErrorCause::kBadOutput);
  EXPECT_NE(outcome.reason.find("output is " + std::to_string(stub.size()) +
                                " bytes, above the limit of 1572864 bytes"),
            std::string::npos)
      << outcome.reason.substr(0, 300);
  EXPECT_LT(outcome.reason.size(), 300U);
}

TEST(InterpretTest, PodLabelsMustBeStrings) {
  EXPECT_EQ(Interpret(Function::kGetCSIDriverPodLabels, Ran("{\"app\":\"x\"}")).kind,
            OutcomeKind::kOk);
  EXPECT_EQ(Interpret(Function::kGetCSIDriverPodLabels, Ran("{\"app\":1}")).kind,
            OutcomeKind::kError);
}

TEST(InterpretTest, TextFunctionsTrimNamespaceAndMetaKeyButNotShell) {
  EXPECT_EQ(Interpret(Function::kGetCSIDriverNamespace, Ran(" kube-system\n")).result,
            "kube-system");
  EXPECT_EQ(Interpret(Function::kWaitForVolumeAttachmentMeta, Ran("\n")).result, "");
  EXPECT_EQ(Interpret(Function::kGetPreResizeCommand, Ran("  DEV=/dev/x\n")).result,
            "  DEV=/dev/x\n");
}

TEST(InterpretTest, EmptyNamespaceIsAnError) {
  EXPECT_EQ(Interpret(Function::kGetCSIDriverNamespace, Ran(" \n")).kind, OutcomeKind::kError);
}

TEST(InterpretTest, TextFunctionWithStderrIsAnError) {
  const Outcome outcome =
      Interpret(Function::kGetPreMountCommand, Ran("DEV=x", "spec.csi.volumeHandle not found"));
  EXPECT_EQ(outcome.kind, OutcomeKind::kError);
  EXPECT_EQ(outcome.reason,
            "driver example.csi.io: GetPreMountCommand: spec.csi.volumeHandle not found");
}

}  // namespace
}  // namespace discoblocks::drivers
