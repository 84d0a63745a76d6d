package driver

import (
	"strings"
	"testing"
)

func TestDocumentEnvReadsWhatV1ReadFromTheEnvironment(t *testing.T) {
	env, err := DocumentEnv([]byte(` {"STORAGE_CLASS_JSON": {"provisioner":"x","a":[1, "}"]},
		"PVC_NAME":"data \"q\" \u00e9 \ud83d\ude00", "VOLUME_ATTACHMENT_JSON":"", "GONE":null,
		"N": 12, "T": true, "PVC_NAME": "second"} `))
	if err != nil {
		t.Fatal(err)
	}
	for name, want := range map[string]string{
		"STORAGE_CLASS_JSON":     `{"provisioner":"x","a":[1,"}"]}`,
		"PVC_NAME":               "data \"q\" é 😀", // the first of two wins
		"VOLUME_ATTACHMENT_JSON": "",
		"N":                      "12",
		"T":                      "true",
	} {
		if got, ok := env(name); !ok || got != want {
			t.Errorf("%s = %q, %v; want %q", name, got, ok, want)
		}
	}
	for _, name := range []string{"GONE", "NODE_JSON"} {
		if got, ok := env(name); ok {
			t.Errorf("%s = %q, want unset", name, got)
		}
	}
	sc, err := env.JSONObject("STORAGE_CLASS_JSON")
	if err != nil {
		t.Fatal(err)
	}
	if p, _ := String(sc, "provisioner"); p != "x" {
		t.Errorf("provisioner = %q, want x", p)
	}
}

func TestDocumentEnvRefusesWhatIsNotOneObject(t *testing.T) {
	for doc, want := range map[string]string{
		`[1]`:           "not a JSON object but array",
		`"text"`:        "not a JSON object but string",
		`{"a":1} {}`:    "not valid JSON",
		`{"a":`:         "not valid JSON",
		"STORAGE_CLASS": "not valid JSON",
	} {
		_, err := DocumentEnv([]byte(doc))
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("DocumentEnv(%s) = %v, want an error containing %q", doc, err, want)
		}
	}
}
