package main

import (
	"encoding/json"
	"strings"
)

// A body and the answer it must get. "UID" in the body is replaced by the
// request's own uid, which the answer must carry back.
type reviewCase struct {
	name    string
	body    string
	status  int
	allowed bool
}

func diskConfig(spec map[string]any) map[string]any {
	return map[string]any{
		"apiVersion": "discoblocks.ondat.io/v1", "kind": "DiskConfig",
		"metadata": map[string]any{"name": "soak", "namespace": "default"},
		"spec":     spec,
	}
}

func review(operation string, object, old map[string]any) string {
	request := map[string]any{"uid": "UID", "operation": operation, "object": object}
	if old != nil {
		request["oldObject"] = old
	}
	text, _ := json.Marshal(map[string]any{
		"apiVersion": "admission.k8s.io/v1", "kind": "AdmissionReview", "request": request,
	})
	return string(text)
}

func spec(class, capacity, maximum string) map[string]any {
	return map[string]any{
		"storageClassName": class, "capacity": capacity,
		"podSelector": map[string]any{"app": "soak"},
		"policy":      map[string]any{"maximumCapacityOfDisk": maximum},
	}
}

func reviewCases() []reviewCase {
	valid := diskConfig(spec("ebs-gp3", "1Gi", "10Gi"))
	return []reviewCase{
		{"valid, Go driver", review("CREATE", valid, nil), 200, true},
		{"valid, C driver", review("CREATE", diskConfig(spec("pd-balanced", "1Gi", "10Gi")), nil), 200, true},
		{"update, spec unchanged", review("UPDATE", valid, valid), 200, true},
		{"capacity above the maximum", review("CREATE", diskConfig(spec("ebs-gp3", "20Gi", "10Gi")), nil), 200, false},
		{"no such StorageClass", review("CREATE", diskConfig(spec("no-such-class", "1Gi", "10Gi")), nil), 200, false},
		{"capacity shrinks", review("UPDATE", valid, diskConfig(spec("ebs-gp3", "2Gi", "10Gi"))), 200, false},
		{"not JSON", `{"apiVersion": "admission.k8s.io/v1", "kind": "AdmissionReview", "request": {"uid": "UID"`, 400, false},
		{"uid is a number", `{"apiVersion":"admission.k8s.io/v1","kind":"AdmissionReview","request":{"uid":7,"operation":"CREATE","object":{}},"x":"UID"}`, 400, false},
		{"nested too deep", `{"apiVersion":"admission.k8s.io/v1","kind":"AdmissionReview","request":{"uid":"UID","object":` +
			strings.Repeat("[", 500) + strings.Repeat("]", 500) + `}}`, 400, false},
	}
}
