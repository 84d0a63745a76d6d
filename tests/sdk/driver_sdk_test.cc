// The C++ driver SDK (sdk/cpp) on the host: input decoding and its messages, the
// result builders, and the outcome rules the adapters apply.
#include <map>
#include <string>
#include <utility>
#include <vector>

#include <gtest/gtest.h>

#include "discoblocks/driver.h"

namespace discoblocks::driver {
namespace {

using Vars = std::map<std::string, std::string>;

Result Echo(const StorageClass& sc) {
  return Bool(sc.allow_volume_expansion.value_or(false), "no");
}

TEST(DriverSdkTest, MissingEmptyMalformedAndNonObjectInputsAreErrorsNamingTheVariable) {
  const std::map<std::string, std::string> expected{
      {"", "STORAGE_CLASS_JSON is empty"},
      {"[1]", "STORAGE_CLASS_JSON is a JSON array, not an object"},
      {"\"x\"", "STORAGE_CLASS_JSON is a JSON string, not an object"},
  };
  for (const auto& [text, message] : expected) {
    const Vars vars{{kStorageClassVar, text}};
    EXPECT_EQ(IsStorageClassValid(Env(&vars), Echo), Fail(message)) << text;
  }
  const Vars none;
  EXPECT_EQ(IsStorageClassValid(Env(&none), Echo), Fail("STORAGE_CLASS_JSON is not set"));

  const Vars broken{{kStorageClassVar, R"({"a":])"}};
  const Result result = IsStorageClassValid(Env(&broken), Echo);
  EXPECT_EQ(result.out, "");
  // The parser's own message, without its "[json.exception...]" tag.
  EXPECT_EQ(result.err.rfind("STORAGE_CLASS_JSON is not valid JSON: parse error at line 1", 0), 0U)
      << result.err;
}

// ABI v2: the call document gives a driver the same text the environment gave.
TEST(DriverSdkTest, CallDocumentReadsLikeTheEnvironment) {
  const Env env = Env::FromDocument(
      R"( {"STORAGE_CLASS_JSON": {"allowVolumeExpansion": true, "a": [1, "}"]},
           "PVC_NAME": "data \"q\" \u00e9", "VOLUME_ATTACHMENT_JSON": "", "GONE": null, "N": 12} )");
  EXPECT_EQ(env.Get("STORAGE_CLASS_JSON"), R"({"allowVolumeExpansion": true, "a": [1, "}"]})");
  EXPECT_EQ(env.Get("PVC_NAME"), "data \"q\" \u00e9");
  EXPECT_EQ(env.Get("VOLUME_ATTACHMENT_JSON"), "");
  EXPECT_EQ(env.Get("N"), "12");
  EXPECT_EQ(env.Get("GONE"), std::nullopt);
  EXPECT_EQ(env.Get("NODE_JSON"), std::nullopt);
  EXPECT_EQ(IsStorageClassValid(env, Echo), Bool(true, ""));
  // The Env keeps its values when copied and the original is gone.
  const Env copy = [] { return Env::FromDocument(R"({"PVC_NAME":"kept"})"); }();
  EXPECT_EQ(copy.Get("PVC_NAME"), "kept");
}

// Objects and arrays are read as their exact span of the document, whatever
// ends them: a nested value, a number (which the parser reads one character
// past), a string holding brackets, or nothing.
TEST(DriverSdkTest, CallDocumentMembersAreTheirExactText) {
  const std::vector<std::string> values = {"{}",
                                           "[]",
                                           "[1]",
                                           R"({"n":1})",
                                           R"({"n":-1.5e3 })",
                                           R"({"a":{"b":[{}, [], 7]}})",
                                           R"(["]", "}\"", "\\"])",
                                           R"({"k" : true,"l":null})",
                                           "[[[[[[1]]]]]]"};
  for (const std::string& value : values) {
    std::string twice = R"({"A":)";
    twice.append(value).append(R"(,"B":)").append(value).append("}");
    const Env env = Env::FromDocument(twice);
    EXPECT_EQ(env.Get("A"), value);
    EXPECT_EQ(env.Get("B"), value);
    const Env last = Env::FromDocument("{\n\"A\" :\t" + value + "\n}");
    EXPECT_EQ(last.Get("A"), value);
  }
  // Other values read as their JSON text; of several members of one name the
  // first that is set counts, as in the Go SDK.
  const Env env = Env::FromDocument(
      R"({"I":-3,"U":18446744073709551615,"F":1.50,"T":true,"D":"x","D":"y","N":null,"N":"z","N":"w"})");
  EXPECT_EQ(env.Get("I"), "-3");
  EXPECT_EQ(env.Get("U"), "18446744073709551615");
  EXPECT_EQ(env.Get("F"), "1.5");
  EXPECT_EQ(env.Get("T"), "true");
  EXPECT_EQ(env.Get("D"), "x");
  EXPECT_EQ(env.Get("N"), "z");
  EXPECT_EQ(Env::FromDocument(R"({"A":{"x":1},"A":[2]})").Get("A"), R"({"x":1})");
}

TEST(DriverSdkTest, CallDocumentThatIsNotAnObjectFailsEveryInput) {
  EXPECT_EQ(IsStorageClassValid(Env::FromDocument("[1]"), Echo),
            Fail("the host's input is not a JSON object but array"));
  EXPECT_EQ(IsStorageClassValid(Env::FromDocument(R"({"a":)"), Echo),
            Fail("the host's input is not valid JSON"));
  for (const auto& [document, type] : std::vector<std::pair<std::string, std::string>>{
           {"null", "null"},
           {"7", "number"},
           {R"("s")", "string"},
           {"false", "boolean"},
           {R"([{"STORAGE_CLASS_JSON":{}}])", "array"}}) {
    const Env env = Env::FromDocument(document);
    EXPECT_EQ(IsStorageClassValid(env, Echo),
              Fail("the host's input is not a JSON object but " + type));
    EXPECT_EQ(env.Get("STORAGE_CLASS_JSON"), std::nullopt) << document;
  }
  EXPECT_EQ(IsStorageClassValid(Env::FromDocument("{\"a\":\"\xff\"}"), Echo),
            Fail("the host's input is not valid JSON"));
  EXPECT_EQ(IsStorageClassValid(Env::FromDocument("{} {}"), Echo),
            Fail("the host's input is not valid JSON"));
}

TEST(DriverSdkTest, FieldsAreAbsentPresentOrMismatched) {
  const auto parsed = ParseObject("X", R"({"a":{"s":"v","n":null,"b":true,"i":1,"arr":[]},"m":"x",
      "l":{"k":"v","n":2}})");
  ASSERT_TRUE(parsed) << parsed.error();
  const Json& root = *parsed;

  const auto s = Lookup<std::string>(root, "X", {"a", "s"});
  EXPECT_TRUE(s.set);
  ASSERT_TRUE(s);
  EXPECT_EQ(*s, "v");

  for (const auto& absent :
       {Lookup<std::string>(root, "X", {"a", "n"}), Lookup<std::string>(root, "X", {"zz"}),
        Lookup<std::string>(root, "X", {"a", "n", "deeper"})}) {
    EXPECT_FALSE(absent.set);
    EXPECT_FALSE(absent);
    EXPECT_EQ(absent.mismatch, "");
  }

  const auto b = Lookup<bool>(root, "X", {"a", "s"});
  EXPECT_TRUE(b.set);
  EXPECT_FALSE(b);
  EXPECT_EQ(b.mismatch, "X: a.s is a string, not a boolean");
  EXPECT_EQ(Lookup<std::string>(root, "X", {"a", "arr"}).mismatch,
            "X: a.arr is an array, not a string");
  EXPECT_EQ(Lookup<std::string>(root, "X", {"m", "k.with.dots"}).mismatch,
            "X: m is a string, not an object");
  EXPECT_EQ(Lookup<std::string>(root, "X", {"a", "i", "x"}).mismatch,
            "X: a.i is a number, not an object");
  EXPECT_EQ(Lookup<std::string>(root, "X", {"a", "arr.x"}).mismatch, "");  // just absent
  EXPECT_EQ(Lookup<bool>(root, "X", {"l", "a.b"}).set, false);

  const auto labels = Lookup<std::map<std::string, std::string>>(root, "X", {"l"});
  ASSERT_TRUE(labels);
  EXPECT_EQ(*labels, (std::map<std::string, std::string>{{"k", "v"}}));  // the number is left out
}

TEST(DriverSdkTest, TypedInputsReadTheirKubernetesFields) {
  const std::string node_text =
      R"({"metadata":{"name":"n1","labels":{"topology.gke.io/zone":7,"a":"b","n":null,
          "o":{"x":"y"}}}})";
  const auto node = Decode<Node>(node_text);
  ASSERT_TRUE(node) << node.error();
  EXPECT_EQ(node->name.value_or(""), "n1");
  EXPECT_EQ(node->labels.value_or({}), (StringMap{{"a", "b"}}));
  EXPECT_EQ(node->Label("a").value_or(""), "b");
  EXPECT_FALSE(node->Label("n").set);
  EXPECT_FALSE(node->Label("missing").set);
  EXPECT_EQ(node->Label("topology.gke.io/zone").mismatch,
            "NODE_JSON: metadata.labels.'topology.gke.io/zone' is a number, not a string");
  EXPECT_EQ(node->Label("o").mismatch, "NODE_JSON: metadata.labels.o is an object, not a string");
  EXPECT_EQ(node->Raw()["metadata"]["labels"]["o"]["x"], "y");  // the whole object

  const std::string no_labels = R"({"metadata":{"labels":[]}})";
  EXPECT_EQ(Decode<Node>(no_labels)->Label("a").mismatch,
            "NODE_JSON: metadata.labels is an array, not an object");

  const std::string pv_text =
      R"({"metadata":{"name":"pv1"},"spec":{"csi":{"driver":"d","volumeHandle":"h","fsType":"xfs"}}})";
  const auto pv = Decode<PersistentVolume>(pv_text);
  ASSERT_TRUE(pv) << pv.error();
  EXPECT_EQ(pv->name.value_or(""), "pv1");
  EXPECT_EQ(pv->csi_driver.value_or(""), "d");
  EXPECT_EQ(pv->volume_handle.value_or(""), "h");
  EXPECT_EQ(pv->fs_type.value_or(""), "xfs");

  const std::string sc_text =
      R"({"metadata":{"name":"sc"},"provisioner":"p","parameters":{"type":"pd-ssd","n":1},
          "allowVolumeExpansion":true,"reclaimPolicy":"Retain","volumeBindingMode":"Immediate"})";
  const auto sc = Decode<StorageClass>(sc_text);
  ASSERT_TRUE(sc) << sc.error();
  EXPECT_EQ(sc->name.value_or(""), "sc");
  EXPECT_EQ(sc->provisioner.value_or(""), "p");
  EXPECT_EQ(sc->parameters.value_or({}), (StringMap{{"type", "pd-ssd"}}));
  EXPECT_TRUE(sc->allow_volume_expansion.value_or(false));
  EXPECT_EQ(sc->reclaim_policy.value_or(""), "Retain");
  EXPECT_EQ(sc->volume_binding_mode.value_or(""), "Immediate");

  const Vars vars{{kPersistentVolumeVar, R"({"spec":{}})"},
                  {kVolumeAttachmentVar,
                   R"({"spec":{"attacher":"a","nodeName":"n","source":{"persistentVolumeName":"p"}},
                       "status":{"attached":true,"attachmentMetadata":{"devicePath":"/dev/x"}}})"}};
  const Result result = GetPreMountCommand(Env(&vars), [](const VolumeInputs& in) {
    const auto attachment = in.Attachment();
    if (!attachment) return Fail(attachment.error());
    const auto& va = *attachment;
    if (!va) return Fail("no attachment");
    return Text(va->attacher.value_or("") + va->node_name.value_or("") +
                va->persistent_volume_name.value_or("") +
                (va->attached.value_or(false) ? "+" : "-") +
                va->attachment_metadata.value_or({}).at("devicePath"));
  });
  EXPECT_EQ(result, Text("anp+/dev/x"));
}

TEST(DriverSdkTest, TheAttachmentIsOptionalAndOnlyReadOnDemand) {
  int calls = 0;
  auto count = [&calls](const VolumeInputs& in) {
    ++calls;
    const auto attachment = in.Attachment();
    if (!attachment) return Fail(attachment.error());
    return Text(attachment->has_value() ? "some" : "none");
  };
  Vars vars{{kPersistentVolumeVar, "{}"}, {kVolumeAttachmentVar, ""}};
  EXPECT_EQ(GetPreResizeCommand(Env(&vars), count), Text("none"));
  vars[kVolumeAttachmentVar] = "[]";
  EXPECT_EQ(GetPreResizeCommand(Env(&vars), count),
            Fail("VOLUME_ATTACHMENT_JSON is a JSON array, not an object"));
  // A driver that does not ask is not failed by a bad attachment.
  EXPECT_EQ(GetPreResizeCommand(Env(&vars), [](const VolumeInputs&) { return Text("DEV=x"); }),
            Text("DEV=x"));
  EXPECT_EQ(calls, 2);
}

TEST(DriverSdkTest, ResultBuildersWriteCompactJson) {
  EXPECT_EQ(Topology({}), Nothing());
  EXPECT_EQ(
      Topology({{{{"k", {"a", "b"}}, {"l", {}}}}, {{}}}).out,
      R"([{"matchLabelExpressions":[{"key":"k","values":["a","b"]},{"key":"l","values":[]}]},)"
      R"({"matchLabelExpressions":[]}])");
  EXPECT_EQ(Labels({{"b", "2"}, {"a", "\"1\""}}).out, R"({"a":"\"1\"","b":"2"})");
  EXPECT_EQ(PvcStub({"n\n", "ns", "sc"}).out,
            R"({"apiVersion":"v1","kind":"PersistentVolumeClaim","metadata":{"name":"n\n",)"
            R"("namespace":"ns"},"spec":{"storageClassName":"sc"}})");
  // Invalid UTF-8 cannot make the output invalid JSON.
  const Result bad = PvcStub({"a\xff", "ns", "sc"});
  EXPECT_FALSE(Json::parse(bad.out, nullptr, false).is_discarded()) << bad.out;
}

TEST(DriverSdkTest, PvcStubInputsAreRequiredAndUtf8) {
  Vars vars{
      {kPvcNameVar, "disk-1"}, {kPvcNamespaceVar, "web \"prod\""}, {kStorageClassNameVar, "sc"}};
  EXPECT_EQ(GetPVCStub(Env(&vars), PvcStub).out,
            R"({"apiVersion":"v1","kind":"PersistentVolumeClaim","metadata":{"name":"disk-1",)"
            R"("namespace":"web \"prod\""},"spec":{"storageClassName":"sc"}})");
  vars[kPvcNameVar] = "bad\xc3";
  EXPECT_EQ(GetPVCStub(Env(&vars), PvcStub), Fail("PVC_NAME is not valid UTF-8"));
  vars.erase(kPvcNameVar);
  EXPECT_EQ(GetPVCStub(Env(&vars), PvcStub), Fail("PVC_NAME is not set"));
  vars[kPvcNameVar] = "n";
  vars[kPvcNamespaceVar] = "";
  EXPECT_EQ(GetPVCStub(Env(&vars), PvcStub), Fail("PVC_NAMESACE is empty"));
}

TEST(DriverSdkTest, ResizePolicyPrintsTheFieldsThatAreSet) {
  EXPECT_EQ(ResizePolicy({}), Nothing());
  EXPECT_EQ(
      ResizePolicy({"1Gi", "1Gi", 4, "24h"}),
      Text(R"({"granularity":"1Gi","maxModifications":4,"minimumIncrease":"1Gi","window":"24h"})"));
  EXPECT_EQ(ResizePolicy({"4Ki", "", 0, ""}), Text(R"({"granularity":"4Ki"})"));
  const Result negative = ResizePolicy({"", "", -1, ""});
  EXPECT_EQ(negative.out, "");
  EXPECT_NE(negative.err, "");
}

TEST(DriverSdkTest, GetResizePolicyGetsTheStorageClass) {
  const auto by_type = [](const StorageClass& sc) {
    if (!sc.parameters || sc.parameters->count("type") == 0) return Nothing();
    return ResizePolicy({"1Gi", "", 0, ""});
  };
  const Vars typed{{kStorageClassVar, R"({"parameters":{"type":"slow"}})"}};
  EXPECT_EQ(GetResizePolicy(Env(&typed), by_type), Text(R"({"granularity":"1Gi"})"));
  const Vars untyped{{kStorageClassVar, R"({"parameters":{}})"}};
  EXPECT_EQ(GetResizePolicy(Env(&untyped), by_type), Nothing());
  const Vars none;
  EXPECT_EQ(GetResizePolicy(Env(&none), by_type), Fail("STORAGE_CLASS_JSON is not set"));
}

TEST(DriverSdkTest, OutcomeRules) {
  // A boolean function answers true or false, or fails with nothing on stdout.
  EXPECT_EQ(IsFileSystemManaged(Env(), [] { return Bool(false, "why"); }), Bool(false, "why"));
  EXPECT_EQ(IsFileSystemManaged(Env(), [] { return Bool(true, "ignored"); }), Text("true"));
  EXPECT_EQ(IsFileSystemManaged(Env(), [] { return TrueWithWarning("w"); }), (Result{"true", "w"}));
  const Result yes = IsFileSystemManaged(Env(), [] { return Text("yes"); });
  EXPECT_EQ(yes, Fail("driver bug: a boolean function answered \"yes\""));
  // Elsewhere, an error leaves no partial answer.
  EXPECT_EQ(GetCSIDriverNamespace(Env(), [] { return Result{"partial", "broke"}; }), Fail("broke"));
  EXPECT_EQ(WaitForVolumeAttachmentMeta(Env(), [] { return Text("devicePath"); }),
            Text("devicePath"));
}

// The one-pass decoder and the DOM lookups agree, on every state of a field.
TEST(DriverSdkTest, DecoderAgreesWithLookup) {
  for (
      const std::string text : {
          R"({"volumeBindingMode":"WaitForFirstConsumer","allowVolumeExpansion":true})",
          R"({"volumeBindingMode":null,"allowVolumeExpansion":"true"})",
          R"({"volumeBindingMode":1,"allowVolumeExpansion":[true]})",
          R"({"volumeBindingMode":{"a":1},"allowVolumeExpansion":{}})",
          R"({"metadata":[],"parameters":"x"})",
          R"({"metadata":{"name":{"first":"x"}},"parameters":{"a":"b","c":{"d":"e"}}})",
          R"({"metadata":null,"parameters":null})",
          R"({"metadata":{"name":"a"},"metadata":{"name":"b"}})",  // the last key wins
          R"({"metadata":{"name":"a"},"metadata":7})",
          R"({"metadata":7,"metadata":{"name":"b"}})",
          R"({"volumeBindingMode":"A","x":[{"volumeBindingMode":"B"}],"y":{"volumeBindingMode":1}})",
      }) {
    const auto sc = Decode<StorageClass>(text);
    ASSERT_TRUE(sc) << text << ": " << sc.error();
    const Json dom = sc->Raw();
    auto same = [&](const auto& a, const auto& b, const char* what) {
      EXPECT_EQ(a.value, b.value) << text << " " << what;
      EXPECT_EQ(a.set, b.set) << text << " " << what;
      EXPECT_EQ(a.mismatch, b.mismatch) << text << " " << what;
    };
    same(sc->volume_binding_mode, Lookup<std::string>(dom, kStorageClassVar, {"volumeBindingMode"}),
         "mode");
    same(sc->allow_volume_expansion, Lookup<bool>(dom, kStorageClassVar, {"allowVolumeExpansion"}),
         "expansion");
    same(sc->name, Lookup<std::string>(dom, kStorageClassVar, {"metadata", "name"}), "name");
    same(sc->parameters, Lookup<StringMap>(dom, kStorageClassVar, {"parameters"}), "parameters");
  }
}

TEST(DriverSdkTest, DecoderValidatesTheWholeDocument) {
  EXPECT_EQ(Decode<StorageClass>(R"({"volumeBindingMode":"x"} x)")
                .error()
                .rfind("STORAGE_CLASS_JSON is not valid JSON: parse error", 0),
            0U);
  EXPECT_EQ(Decode<StorageClass>("[{]").error().rfind(
                "STORAGE_CLASS_JSON is not valid JSON: parse error", 0),
            0U);
  EXPECT_EQ(Decode<StorageClass>("[{}]").error(),
            "STORAGE_CLASS_JSON is a JSON array, not an object");
  EXPECT_EQ(Decode<StorageClass>("null").error(),
            "STORAGE_CLASS_JSON is a JSON null, not an object");
  EXPECT_EQ(Decode<StorageClass>("{\"a\":\"\xff\"}")
                .error()
                .rfind("STORAGE_CLASS_JSON is not valid JSON: parse error", 0),
            0U);
  // Deep nesting is no problem for the parser's own stack.
  const std::string deep = "{\"a\":" + std::string(10000, '[') + std::string(10000, ']') + "}";
  EXPECT_TRUE(Decode<StorageClass>(deep));
}

TEST(DriverSdkTest, QuoteCutsAtACharacterBoundary) {
  EXPECT_EQ(Quote("a\"b"), R"("a\"b")");
  // 3 bytes, then a 2-byte character across the cut at 4.
  EXPECT_EQ(Quote("abc\xc3\xa9z", 4), "\"abc\"...");
  EXPECT_EQ(Quote("abcd", 4), "\"abcd\"");
}

}  // namespace
}  // namespace discoblocks::driver
