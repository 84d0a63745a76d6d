package driver

import (
	"sort"
	"strconv"
)

// Nothing is the empty answer: no topology, no command, no metadata key.
func Nothing() Result { return Result{} }

// TrueWithWarning is true with a warning, which the host passes on (admission
// responses carry it in their warnings).
func TrueWithWarning(warning string) Result {
	return Result{Stdout: "true", Stderr: warning}
}

// LabelRequirement is a TopologySelectorLabelRequirement (core/v1).
type LabelRequirement struct {
	Key    string   `json:"key"`
	Values []string `json:"values"`
}

// TopologyTerm is a TopologySelectorTerm (core/v1).
type TopologyTerm struct {
	MatchLabelExpressions []LabelRequirement `json:"matchLabelExpressions"`
}

// Topology is the answer of GetStorageClassAllowedTopology: nothing without
// terms (a volume reachable from every node), else the JSON array of the terms.
func Topology(terms ...TopologyTerm) Result {
	if len(terms) == 0 {
		return Nothing()
	}
	b := []byte{'['}
	for i, term := range terms {
		if i > 0 {
			b = append(b, ',')
		}
		b = append(b, `{"matchLabelExpressions":[`...)
		for j, r := range term.MatchLabelExpressions {
			if j > 0 {
				b = append(b, ',')
			}
			b = append(b, `{"key":`...)
			b = AppendString(b, r.Key)
			b = append(b, `,"values":[`...)
			for k, v := range r.Values {
				if k > 0 {
					b = append(b, ',')
				}
				b = AppendString(b, v)
			}
			b = append(b, "]}"...)
		}
		b = append(b, "]}"...)
	}
	return Text(string(append(b, ']')))
}

// Labels is the answer of GetCSIDriverPodLabels, keys sorted. (Not written with
// encoding/json: importing it would add its initialization to every call of
// every Go driver, since each call starts a fresh instance.)
func Labels(labels map[string]string) Result {
	keys := make([]string, 0, len(labels))
	for k := range labels {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	b := []byte{'{'}
	for i, k := range keys {
		if i > 0 {
			b = append(b, ',')
		}
		b = AppendString(b, k)
		b = append(b, ':')
		b = AppendString(b, labels[k])
	}
	return Text(string(append(b, '}')))
}

// PVCStub is the usual answer of GetPVCStub: a minimal PersistentVolumeClaim that
// the operator completes (labels, capacity, access modes).
func PVCStub(req PVCRequest) Result {
	b := []byte(`{"apiVersion":"v1","kind":"PersistentVolumeClaim","metadata":{"name":`)
	b = AppendString(b, req.Name)
	b = append(b, `,"namespace":`...)
	b = AppendString(b, req.Namespace)
	b = append(b, `},"spec":{"storageClassName":`...)
	b = AppendString(b, req.StorageClassName)
	b = append(b, "}}"...)
	return Text(string(b))
}

// Constant is a function of no input that always answers r.
func Constant(r Result) func() Result { return func() Result { return r } }

// checkBool applies the outcome rules of a boolean function: it answers true or
// false, or fails with an empty stdout.
func checkBool(r Result) Result {
	if r.Stdout == "" || r.Stdout == "true" || r.Stdout == "false" {
		return r
	}
	const max = 64
	out := r.Stdout
	if len(out) > max {
		out = out[:max] + "..."
	}
	return Fail("driver bug: a boolean function answered %q", out)
}

// checkAnswer applies the outcome rules of any other function: an error must not
// leave a partial answer behind, or the host could act on it.
func checkAnswer(r Result) Result {
	if r.Stderr != "" {
		r.Stdout = ""
	}
	return r
}

// The adapters: one per ABI function, from the typed function a driver writes to
// a function of an Env that Run connects to the process and tests call directly.
// A missing or malformed input is an error naming the variable.

// IsStorageClassValid adapts f to the IsStorageClassValid export.
func IsStorageClassValid(f func(StorageClass) Result) func(Env) Result {
	return func(env Env) Result {
		raw, err := env.JSONObject(StorageClassVar)
		if err != nil {
			return Fail("%v", err)
		}
		return checkBool(f(NewStorageClass(raw)))
	}
}

// GetStorageClassAllowedTopology adapts f to its export.
func GetStorageClassAllowedTopology(f func(Node) Result) func(Env) Result {
	return func(env Env) Result {
		raw, err := env.JSONObject(NodeVar)
		if err != nil {
			return Fail("%v", err)
		}
		return checkAnswer(f(NewNode(raw)))
	}
}

// GetPVCStub adapts f to its export. All three inputs are required: a claim
// without a name, a namespace or a storage class would be created somewhere
// unexpected or not at all, and the operator always knows them.
func GetPVCStub(f func(PVCRequest) Result) func(Env) Result {
	return func(env Env) Result {
		var vals [3]string
		for i, name := range [...]string{PVCNameVar, PVCNamespaceVar, StorageClassNameVar} {
			v, err := env.Required(name)
			if err != nil {
				return Fail("%v", err)
			}
			vals[i] = v
		}
		return checkAnswer(f(PVCRequest{Name: vals[0], Namespace: vals[1], StorageClassName: vals[2]}))
	}
}

// GetCSIDriverNamespace adapts f to its export.
func GetCSIDriverNamespace(f func() Result) func(Env) Result { return noInput(f, checkAnswer) }

// GetCSIDriverPodLabels adapts f to its export.
func GetCSIDriverPodLabels(f func() Result) func(Env) Result { return noInput(f, checkAnswer) }

// IsFileSystemManaged adapts f to its export.
func IsFileSystemManaged(f func() Result) func(Env) Result { return noInput(f, checkBool) }

// WaitForVolumeAttachmentMeta adapts f to its export.
func WaitForVolumeAttachmentMeta(f func() Result) func(Env) Result {
	return noInput(f, checkAnswer)
}

// GetPreMountCommand adapts f to its export.
func GetPreMountCommand(f func(VolumeInputs) Result) func(Env) Result { return volume(f) }

// GetPreResizeCommand adapts f to its export.
func GetPreResizeCommand(f func(VolumeInputs) Result) func(Env) Result { return volume(f) }

func noInput(f func() Result, check func(Result) Result) func(Env) Result {
	return func(Env) Result { return check(f()) }
}

func volume(f func(VolumeInputs) Result) func(Env) Result {
	return func(env Env) Result {
		raw, err := env.JSONObject(PersistentVolumeVar)
		if err != nil {
			return Fail("%v", err)
		}
		return checkAnswer(f(VolumeInputs{PV: NewPersistentVolume(raw), env: env}))
	}
}

// ResizeLimits is what a disk type allows when a volume grows, the answer of the
// optional GetResizePolicy (docs/driver-abi.md). A zero field declares no limit
// of that kind.
type ResizeLimits struct {
	// Granularity: every new size is a multiple of it. A Kubernetes quantity
	// ("1Gi"); "" for none.
	Granularity string
	// MinimumIncrease: a resize grows the volume by at least this much. A
	// Kubernetes quantity; "" for none.
	MinimumIncrease string
	// MaxModifications: at most this many size changes of one volume within
	// any Window; 0 for no limit.
	MaxModifications int
	// Window: a Go duration ("24h"); required with MaxModifications.
	Window string
}

// ResizePolicy is the answer of GetResizePolicy: nothing when l declares no
// limit at all, else the JSON object of the fields that are set.
func ResizePolicy(l ResizeLimits) Result {
	if l == (ResizeLimits{}) {
		return Nothing()
	}
	if l.MaxModifications < 0 {
		return Fail("driver bug: ResizeLimits.MaxModifications is %d, below 0", l.MaxModifications)
	}
	b := []byte{'{'}
	field := func(name string) {
		if len(b) > 1 {
			b = append(b, ',')
		}
		b = AppendString(b, name)
		b = append(b, ':')
	}
	if l.Granularity != "" {
		field("granularity")
		b = AppendString(b, l.Granularity)
	}
	if l.MinimumIncrease != "" {
		field("minimumIncrease")
		b = AppendString(b, l.MinimumIncrease)
	}
	if l.MaxModifications != 0 {
		field("maxModifications")
		b = strconv.AppendInt(b, int64(l.MaxModifications), 10)
	}
	if l.Window != "" {
		field("window")
		b = AppendString(b, l.Window)
	}
	return Text(string(append(b, '}')))
}

// GetResizePolicy adapts f to the optional GetResizePolicy export. f gets the
// claim's StorageClass, since limits may differ by volume type. A driver
// without limits does not export the function at all.
func GetResizePolicy(f func(StorageClass) Result) func(Env) Result {
	return func(env Env) Result {
		raw, err := env.JSONObject(StorageClassVar)
		if err != nil {
			return Fail("%v", err)
		}
		return checkAnswer(f(NewStorageClass(raw)))
	}
}
