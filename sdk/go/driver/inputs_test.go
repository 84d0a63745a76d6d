package driver_test

import (
	"os"
	"path/filepath"
	"reflect"
	"testing"

	"github.com/discoblocks/discoblocks/sdk/go/driver"
	"github.com/discoblocks/discoblocks/sdk/go/driver/drivertest"
)

func TestFieldStates(t *testing.T) {
	var got driver.StorageClass
	valid := driver.IsStorageClassValid(func(sc driver.StorageClass) driver.Result {
		got = sc
		return driver.Bool(true, "")
	})
	drivertest.ExpectBool(t, drivertest.Call(t, valid, drivertest.Inputs{StorageClass: `{
		"metadata":{"name":"sc"},"provisioner":"p","volumeBindingMode":null,
		"allowVolumeExpansion":"true","reclaimPolicy":1,"parameters":{"a":"b","n":2}}`}), true, "")

	if v, ok := got.Name.Get(); !ok || v != "sc" || got.Name.Mismatch != "" {
		t.Errorf("name = %+v", got.Name)
	}
	if got.VolumeBindingMode.Set || got.VolumeBindingMode.OK || got.VolumeBindingMode.Mismatch != "" {
		t.Errorf("null mode = %+v, want absent", got.VolumeBindingMode)
	}
	if f := got.AllowVolumeExpansion; !f.Set || f.OK ||
		f.Mismatch != "STORAGE_CLASS_JSON: allowVolumeExpansion is a string, not a boolean" {
		t.Errorf("expansion = %+v", f)
	}
	if f := got.ReclaimPolicy; f.Mismatch != "STORAGE_CLASS_JSON: reclaimPolicy is a number, not a string" {
		t.Errorf("reclaim policy = %+v", f)
	}
	if p := got.Parameters.Or(nil); !reflect.DeepEqual(p, map[string]string{"a": "b"}) {
		t.Errorf("parameters = %v", p)
	}
	if got.AllowVolumeExpansion.Or(true) != true {
		t.Error("Or of a mismatch is not the fallback")
	}
}

func TestNodeLabelMismatchNamesThePath(t *testing.T) {
	var label, onArray driver.Field[string]
	topology := driver.GetStorageClassAllowedTopology(func(n driver.Node) driver.Result {
		label = n.Label("topology.gke.io/zone")
		onArray = driver.StringField(n.Raw, driver.NodeVar, "metadata", "labels", "x")
		return driver.Nothing()
	})
	drivertest.Call(t, topology, drivertest.Inputs{Node: `{"metadata":{"labels":{"topology.gke.io/zone":7}}}`})
	if label.Mismatch != "NODE_JSON: metadata.labels.'topology.gke.io/zone' is a number, not a string" {
		t.Errorf("label = %+v", label)
	}
	drivertest.Call(t, topology, drivertest.Inputs{Node: `{"metadata":{"labels":[]}}`})
	if onArray.Mismatch != "NODE_JSON: metadata.labels is an array, not an object" || onArray.Set {
		t.Errorf("label on an array = %+v", onArray)
	}
}

func TestVolumeInputsReadTheAttachmentOnDemand(t *testing.T) {
	var pv driver.PersistentVolume
	var va *driver.VolumeAttachment
	var vaErr error
	mount := driver.GetPreMountCommand(func(in driver.VolumeInputs) driver.Result {
		pv = in.PV
		va, vaErr = in.Attachment()
		return driver.Text("DEV=/dev/x")
	})
	dir := t.TempDir()
	pvFile := filepath.Join(dir, "pv.json")
	if err := os.WriteFile(pvFile, []byte(`{
	  "metadata": {"name": "pv-1"},
	  "spec": {"csi": {"driver": "d", "volumeHandle": "h", "fsType": "ext4"}}
	}`), 0o644); err != nil {
		t.Fatal(err)
	}
	in := drivertest.Inputs{
		PersistentVolume: drivertest.File(t, pvFile),
		VolumeAttachment: `{"spec":{"attacher":"d","nodeName":"n","source":{"persistentVolumeName":"pv-1"}},
			"status":{"attached":true,"attachmentMetadata":{"devicePath":"/dev/sdb"}}}`,
	}
	if got := drivertest.Call(t, mount, in); got != driver.Text("DEV=/dev/x") {
		t.Fatalf("got %+v", got)
	}
	if pv.Name.Or("") != "pv-1" || pv.CSIDriver.Or("") != "d" || pv.VolumeHandle.Or("") != "h" || pv.FSType.Or("") != "ext4" {
		t.Errorf("pv = %+v", pv)
	}
	if vaErr != nil || va == nil || va.Attacher.Or("") != "d" || va.NodeName.Or("") != "n" ||
		va.PersistentVolumeName.Or("") != "pv-1" || !va.Attached.Or(false) ||
		va.AttachmentMetadata.Or(nil)["devicePath"] != "/dev/sdb" {
		t.Errorf("va = %+v, %v", va, vaErr)
	}

	in.VolumeAttachment = ""
	in.Extra = map[string]string{driver.VolumeAttachmentVar: ""}
	drivertest.Call(t, mount, in)
	if va != nil || vaErr != nil {
		t.Errorf("empty attachment: %+v, %v", va, vaErr)
	}
	in.Extra[driver.VolumeAttachmentVar] = "[1]"
	drivertest.Call(t, mount, in)
	if vaErr == nil {
		t.Error("a malformed attachment asked for is not an error")
	}

	drivertest.ExpectError(t, drivertest.Call(t, mount, drivertest.Inputs{}), "PERSISTENT_VOLUME_JSON is not set")
}

func TestOutcomeRules(t *testing.T) {
	managed := driver.IsFileSystemManaged(driver.Constant(driver.Text("yes")))
	drivertest.ExpectError(t, drivertest.Call(t, managed, drivertest.Inputs{}), "driver bug: a boolean function answered")
	warn := driver.IsFileSystemManaged(driver.Constant(driver.TrueWithWarning("w")))
	if got := drivertest.Call(t, warn, drivertest.Inputs{}); got != (driver.Result{Stdout: "true", Stderr: "w"}) {
		t.Errorf("true with warning = %+v", got)
	}
	ns := driver.GetCSIDriverNamespace(driver.Constant(driver.Result{Stdout: "partial", Stderr: "broke"}))
	drivertest.ExpectError(t, drivertest.Call(t, ns, drivertest.Inputs{}), "broke")
}

func TestResultBuilders(t *testing.T) {
	if driver.Topology() != driver.Nothing() {
		t.Error("no terms is not nothing")
	}
	drivertest.ExpectJSON(t, driver.Topology(
		driver.TopologyTerm{MatchLabelExpressions: []driver.LabelRequirement{{Key: "k", Values: []string{"a", "b\""}}}},
		driver.TopologyTerm{},
	), `[{"matchLabelExpressions":[{"key":"k","values":["a","b\""]}]},{"matchLabelExpressions":[]}]`)
	if got := driver.Labels(map[string]string{"b": "2", "a": "1"}).Stdout; got != `{"a":"1","b":"2"}` {
		t.Errorf("labels = %s", got)
	}
	stub := drivertest.Call(t, driver.GetPVCStub(driver.PVCStub), drivertest.Inputs{
		PVCName: "n", PVCNamespace: "ns", StorageClassName: "sc"})
	drivertest.ExpectJSON(t, stub, `{"apiVersion":"v1","kind":"PersistentVolumeClaim",
		"metadata":{"name":"n","namespace":"ns"},"spec":{"storageClassName":"sc"}}`)
}
