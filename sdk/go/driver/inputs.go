package driver

import (
	"strings"

	"github.com/valyala/fastjson"
)

// The input names of the contract: ABI v1's environment variables, and the
// member names of ABI v2's call document. PVC_NAMESACE is misspelled in the
// original contract and must stay so.
const (
	StorageClassVar     = "STORAGE_CLASS_JSON"
	NodeVar             = "NODE_JSON"
	PersistentVolumeVar = "PERSISTENT_VOLUME_JSON"
	VolumeAttachmentVar = "VOLUME_ATTACHMENT_JSON"
	PVCNameVar          = "PVC_NAME"
	PVCNamespaceVar     = "PVC_NAMESACE"
	StorageClassNameVar = "STORAGE_CLASS_NAME"
)

// Field is one field of an input object, in one of three states:
//   - absent: missing or JSON null (Kubernetes treats an explicit null like an
//     omitted optional field): Set and OK are false;
//   - present with the expected type: Set and OK are true, Value holds it;
//   - present with another type, or an object on its path is not an object: OK
//     is false and Mismatch says so ("STORAGE_CLASS_JSON: allowVolumeExpansion
//     is a string, not a boolean").
//
// Drivers decide what a mismatch means: the API server never sends one, so a
// driver may call it an error or just "not the expected value".
type Field[T any] struct {
	Value    T
	OK       bool
	Set      bool
	Mismatch string
}

// Get returns the value and whether it is present with the expected type.
func (f Field[T]) Get() (T, bool) { return f.Value, f.OK }

// Or returns the value, or fallback when it is absent or of another type.
func (f Field[T]) Or(fallback T) T {
	if f.OK {
		return f.Value
	}
	return fallback
}

// jsonTypeName names t as JSON does (fastjson has a type per boolean literal).
func jsonTypeName(t fastjson.Type) string {
	switch t {
	case fastjson.TypeTrue, fastjson.TypeFalse:
		return "boolean"
	default:
		return t.String()
	}
}

func article(typeName string) string {
	if typeName == "array" || typeName == "object" {
		return "an "
	}
	return "a "
}

// pathText writes a path as a.b.'c.d': keys containing a dot are quoted.
func pathText(path []string) string {
	var b strings.Builder
	for i, key := range path {
		if i > 0 {
			b.WriteByte('.')
		}
		if strings.Contains(key, ".") {
			b.WriteString("'" + key + "'")
		} else {
			b.WriteString(key)
		}
	}
	return b.String()
}

func mismatch(source string, path []string, found *fastjson.Value, want string) string {
	got := jsonTypeName(found.Type())
	return source + ": " + pathText(path) + " is " + article(got) + got + ", not " + article(want) + want
}

// lookup follows path from root (an object read from the variable source). It
// returns the value (nil when absent or null), or a mismatch message.
func lookup(root *fastjson.Value, source string, path ...string) (*fastjson.Value, string) {
	at := root
	for i, key := range path {
		if at == nil || at.Type() == fastjson.TypeNull {
			return nil, ""
		}
		if at.Type() != fastjson.TypeObject {
			return nil, mismatch(source, path[:i], at, "object")
		}
		at = at.Get(key)
	}
	if at == nil || at.Type() == fastjson.TypeNull {
		return nil, ""
	}
	return at, ""
}

// StringField reads the string at path in root (an object read from source).
func StringField(root *fastjson.Value, source string, path ...string) Field[string] {
	v, m := lookup(root, source, path...)
	if v == nil {
		return Field[string]{Mismatch: m}
	}
	if v.Type() != fastjson.TypeString {
		return Field[string]{Set: true, Mismatch: mismatch(source, path, v, "string")}
	}
	b, _ := v.StringBytes() // the type was checked above
	return Field[string]{Value: string(b), OK: true, Set: true}
}

// BoolField reads the boolean at path in root (an object read from source).
func BoolField(root *fastjson.Value, source string, path ...string) Field[bool] {
	v, m := lookup(root, source, path...)
	if v == nil {
		return Field[bool]{Mismatch: m}
	}
	switch v.Type() {
	case fastjson.TypeTrue:
		return Field[bool]{Value: true, OK: true, Set: true}
	case fastjson.TypeFalse:
		return Field[bool]{OK: true, Set: true}
	}
	return Field[bool]{Set: true, Mismatch: mismatch(source, path, v, "boolean")}
}

// StringMapField reads the object of strings at path in root (labels,
// parameters); members of other types are left out.
func StringMapField(root *fastjson.Value, source string, path ...string) Field[map[string]string] {
	v, m := lookup(root, source, path...)
	if v == nil {
		return Field[map[string]string]{Mismatch: m}
	}
	o, err := v.Object()
	if err != nil {
		return Field[map[string]string]{Set: true, Mismatch: mismatch(source, path, v, "object")}
	}
	out := map[string]string{}
	o.Visit(func(key []byte, item *fastjson.Value) {
		if b, err := item.StringBytes(); err == nil {
			out[string(key)] = string(b)
		}
	})
	return Field[map[string]string]{Value: out, OK: true, Set: true}
}

// StorageClass is the input of IsStorageClassValid. Raw is the whole object,
// for what the struct does not model.
type StorageClass struct {
	Raw                  *fastjson.Value
	Name                 Field[string]
	Provisioner          Field[string]
	VolumeBindingMode    Field[string]
	ReclaimPolicy        Field[string]
	AllowVolumeExpansion Field[bool]
	Parameters           Field[map[string]string]
}

// NewStorageClass decodes a StorageClass object.
func NewStorageClass(raw *fastjson.Value) StorageClass {
	s := StorageClassVar
	return StorageClass{
		Raw:                  raw,
		Name:                 StringField(raw, s, "metadata", "name"),
		Provisioner:          StringField(raw, s, "provisioner"),
		VolumeBindingMode:    StringField(raw, s, "volumeBindingMode"),
		ReclaimPolicy:        StringField(raw, s, "reclaimPolicy"),
		AllowVolumeExpansion: BoolField(raw, s, "allowVolumeExpansion"),
		Parameters:           StringMapField(raw, s, "parameters"),
	}
}

// Node is the input of GetStorageClassAllowedTopology.
type Node struct {
	Raw    *fastjson.Value
	Name   Field[string]
	Labels Field[map[string]string]
}

// NewNode decodes a Node object.
func NewNode(raw *fastjson.Value) Node {
	return Node{
		Raw:    raw,
		Name:   StringField(raw, NodeVar, "metadata", "name"),
		Labels: StringMapField(raw, NodeVar, "metadata", "labels"),
	}
}

// Label reads one label, with its exact path in a mismatch message.
func (n Node) Label(key string) Field[string] {
	return StringField(n.Raw, NodeVar, "metadata", "labels", key)
}

// PersistentVolume is the main input of GetPreMountCommand and
// GetPreResizeCommand.
type PersistentVolume struct {
	Raw          *fastjson.Value
	Name         Field[string]
	CSIDriver    Field[string]
	VolumeHandle Field[string]
	FSType       Field[string]
}

// NewPersistentVolume decodes a PersistentVolume object.
func NewPersistentVolume(raw *fastjson.Value) PersistentVolume {
	s := PersistentVolumeVar
	return PersistentVolume{
		Raw:          raw,
		Name:         StringField(raw, s, "metadata", "name"),
		CSIDriver:    StringField(raw, s, "spec", "csi", "driver"),
		VolumeHandle: StringField(raw, s, "spec", "csi", "volumeHandle"),
		FSType:       StringField(raw, s, "spec", "csi", "fsType"),
	}
}

// VolumeAttachment is the optional input of the pre-commands.
type VolumeAttachment struct {
	Raw                  *fastjson.Value
	Name                 Field[string]
	Attacher             Field[string]
	NodeName             Field[string]
	PersistentVolumeName Field[string]
	Attached             Field[bool]
	AttachmentMetadata   Field[map[string]string]
}

// NewVolumeAttachment decodes a VolumeAttachment object.
func NewVolumeAttachment(raw *fastjson.Value) VolumeAttachment {
	s := VolumeAttachmentVar
	return VolumeAttachment{
		Raw:                  raw,
		Name:                 StringField(raw, s, "metadata", "name"),
		Attacher:             StringField(raw, s, "spec", "attacher"),
		NodeName:             StringField(raw, s, "spec", "nodeName"),
		PersistentVolumeName: StringField(raw, s, "spec", "source", "persistentVolumeName"),
		Attached:             BoolField(raw, s, "status", "attached"),
		AttachmentMetadata:   StringMapField(raw, s, "status", "attachmentMetadata"),
	}
}

// VolumeInputs are the inputs of GetPreMountCommand and GetPreResizeCommand.
type VolumeInputs struct {
	PV  PersistentVolume
	env Env
}

// Attachment reads the VolumeAttachment on demand, nil when
// VOLUME_ATTACHMENT_JSON is unset or empty (the host passes an empty string when
// there is none): most drivers do not need it.
func (in VolumeInputs) Attachment() (*VolumeAttachment, error) {
	if v, ok := in.env(VolumeAttachmentVar); !ok || v == "" {
		return nil, nil
	}
	raw, err := in.env.JSONObject(VolumeAttachmentVar)
	if err != nil {
		return nil, err
	}
	va := NewVolumeAttachment(raw)
	return &va, nil
}

// PVCRequest is what GetPVCStub is asked for.
type PVCRequest struct {
	Name, Namespace, StorageClassName string
}
