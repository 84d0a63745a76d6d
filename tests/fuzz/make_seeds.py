#!/usr/bin/env python3
"""Writes the fuzz targets' seed corpora into tests/fuzz/corpus/<target>/.

Seeds are derived from the project's own fixtures (tests/fixtures, deploy/,
tests/kube/quantity_inputs.txt) and from the requests the tests send. Each
seed is named seed-<sha1 of its bytes>; files named otherwise (crash-*
reproducers) are left alone. Run it again after changing a fixture:

    python3 tests/fuzz/make_seeds.py

Needs PyYAML (Debian: python3-yaml) to turn the YAML fixtures into JSON.
"""
import ast
import base64
import hashlib
import json
import pathlib
import struct
import subprocess
import tempfile

import yaml

ROOT = pathlib.Path(__file__).resolve().parents[2]
CORPUS = ROOT / "tests" / "fuzz" / "corpus"
FIXTURES = ROOT / "tests" / "fixtures"


def write(target, seeds):
    out = CORPUS / target
    out.mkdir(parents=True, exist_ok=True)
    for old in out.glob("seed-*"):
        old.unlink()
    for seed in seeds:
        data = seed.encode() if isinstance(seed, str) else seed
        (out / ("seed-" + hashlib.sha1(data).hexdigest())).write_bytes(data)
    print(f"{target}: {len(set(seeds))} seeds")


def fixture(path):
    return yaml.safe_load((FIXTURES / path).read_text())


def quantity_seeds():
    seeds = []
    for line in (ROOT / "tests" / "kube" / "quantity_inputs.txt").read_text().splitlines():
        line = line.strip()
        if line and not line.startswith("#"):
            seeds.append(ast.literal_eval(line))  # Go's quoting is Python's here
    return seeds


def document_seeds():
    seeds = [p.read_text() for p in sorted(FIXTURES.rglob("*.yaml"))]
    seeds += [p.read_text() for p in sorted((ROOT / "deploy").rglob("*.yaml"))]
    seeds += [json.dumps(fixture("diskconfigs/nginx-ebs.yaml")),
              json.dumps(fixture("storageclasses/ebs-gp3.yaml"), indent=2)]
    seeds += [
        "a: &x [1, 2]\nb: *x\nc: {d: *x}\n",
        "--- 1\n--- 2\n",
        "key: !!str 123\nother: !!int 7\nf: 1.5e3\nh: 0x1F\no: 0o17\nn: ~\nt: True\n",
        "'single' : \"double \\u00e9\"\nblock: |\n  line\n  line\nfolded: >\n  a\n  b\n",
        "[1, {a: [2, {b: 3}]}, \"x\"]",
        '{"a": [1, 2.5, -3e-2, true, null, "\\u0000"], "b": {}}',
        "? [complex, key]\n: value\n",
    ]
    return seeds


def admission_review(operation, obj=None, old=None, uid="705ab4f5-6393-11e8-b7cc-42010a800002"):
    request = {"uid": uid,
               "kind": {"group": "discoblocks.ondat.io", "version": "v1", "kind": "DiskConfig"},
               "operation": operation, "namespace": "default", "name": "nginx"}
    if obj is not None:
        request["object"] = obj
    if old is not None:
        request["oldObject"] = old
    return json.dumps({"apiVersion": "admission.k8s.io/v1", "kind": "AdmissionReview",
                       "request": request})


def admission_seeds():
    good = fixture("diskconfigs/nginx-ebs.yaml")
    seeds = []
    for name in ["nginx-ebs", "bad-capacity", "bad-mount-pattern"]:
        obj = fixture(f"diskconfigs/{name}.yaml")
        seeds += [admission_review("CREATE", obj), admission_review("DELETE", old=obj),
                  admission_review("UPDATE", obj, obj)]
    for storage_class in ["ebs-no-expansion", "ebs-immediate", "pd-balanced", "storageos",
                          "storageos-wffc", "local-storage", "missing"]:
        obj = json.loads(json.dumps(good))
        obj["spec"]["storageClassName"] = storage_class
        seeds.append(admission_review("CREATE", obj))
    shrunk = json.loads(json.dumps(good))
    shrunk["spec"]["capacity"] = "512Mi"
    seeds.append(admission_review("UPDATE", shrunk, good))
    seeds.append(admission_review("CONNECT", good))
    seeds.append(admission_review("CREATE", {"apiVersion": "v1", "kind": "Pod"}))
    seeds += [
        "<xml/>", "",
        '{"kind":"Pod"}',
        '{"apiVersion":"admission.k8s.io/v1beta1","kind":"AdmissionReview","request":{"uid":"x"}}',
        '{"apiVersion":"admission.k8s.io/v1","kind":"AdmissionReview"}',
        '{"apiVersion":"admission.k8s.io/v1","kind":"AdmissionReview","request":{"operation":"CREATE"}}',
        '{"apiVersion":"admission.k8s.io/v1","kind":"AdmissionReview","request":{"uid":"u","operation":"PATCH"}}',
        '{"apiVersion":"admission.k8s.io/v1","kind":"AdmissionReview","request":{"uid":1}}',
    ]
    return seeds


# interpret_fuzzer.cc's layout: function index, run byte, stdout, NUL, stderr.
FUNCTIONS = ["IsStorageClassValid", "GetStorageClassAllowedTopology", "GetPVCStub",
             "GetCSIDriverNamespace", "GetCSIDriverPodLabels", "GetPreMountCommand",
             "GetPreResizeCommand", "IsFileSystemManaged", "WaitForVolumeAttachmentMeta",
             "GetResizePolicy"]


def run(function, stdout, stderr=None, run_byte=0):
    data = struct.pack("BB", FUNCTIONS.index(function), run_byte) + stdout.encode()
    return data + (b"\0" + stderr.encode() if stderr is not None else b"")


def interpret_seeds():
    pvc = {"apiVersion": "v1", "kind": "PersistentVolumeClaim",
           "metadata": {"name": "disk", "namespace": "default"},
           "spec": {"storageClassName": "ebs-gp3", "accessModes": ["ReadWriteOnce"]}}
    topology = [{"matchLabelExpressions": [
        {"key": "topology.ebs.csi.aws.com/zone", "values": ["eu-west-1a"]}]}]
    return [
        run("IsStorageClassValid", "true\n"),
        run("IsStorageClassValid", "false", "only allowVolumeExpansion true is supported"),
        run("IsStorageClassValid", "", "could not decode the StorageClass"),
        run("IsStorageClassValid", "maybe"),
        run("GetStorageClassAllowedTopology", json.dumps(topology)),
        run("GetStorageClassAllowedTopology", ""),
        run("GetStorageClassAllowedTopology", "[{}]", "a warning"),
        run("GetPVCStub", json.dumps(pvc)),
        run("GetPVCStub", '{"kind": 1}'),
        run("GetCSIDriverNamespace", "kube-system\n"),
        run("GetCSIDriverNamespace", "  "),
        run("GetCSIDriverPodLabels", '{"app": "ebs-csi-node"}'),
        run("GetCSIDriverPodLabels", '{"app": 1}'),
        run("GetPreMountCommand", "mkfs.ext4 /dev/xvdf"),
        run("GetPreResizeCommand", ""),
        run("IsFileSystemManaged", "T"),
        run("WaitForVolumeAttachmentMeta", "devicePath\n"),
        run("GetResizePolicy", ""),
        run("GetResizePolicy", '{"granularity": "1Gi", "maxModifications": 4, "window": "24h"}'),
        run("GetResizePolicy", '{"maxModifications": "4"}'),
        run("IsStorageClassValid", "", "panic: oops", run_byte=8),   # trap
        run("GetPVCStub", "", "exit", run_byte=9 | 0x10 | (3 << 5)),  # exit 3, in initializer
        run("GetPVCStub", "{", "", run_byte=13),                    # output limit
    ]


def kubeconfig(cluster, user, current="fuzz"):
    return (f"apiVersion: v1\nkind: Config\ncurrent-context: {current}\n"
            "contexts:\n- name: fuzz\n  context: {cluster: c, user: u}\n"
            "- name: other\n  context: {cluster: missing, user: u}\n"
            f"clusters:\n- name: c\n  cluster:\n{cluster}\nusers:\n- name: u\n  user:\n{user}\n")


def kubeconfig_seeds():
    # A throwaway self-signed certificate (public part only), for the -data fields.
    cert = base64.b64encode((ROOT / "tests" / "fuzz" / "seed-certificate.pem").read_bytes()).decode()
    server = "    server: https://127.0.0.1:6443/"
    return [
        kubeconfig(server + "\n    certificate-authority: ca.crt",
                   "    client-certificate: client.crt\n    client-key: client.key"),
        kubeconfig(server + f"\n    certificate-authority-data: {cert}", "    token: abc"),
        kubeconfig(server + "\n    insecure-skip-tls-verify: true", "    tokenFile: token"),
        kubeconfig(server, f"    client-certificate-data: {cert}\n    client-key-data: bm90IGEga2V5"),
        kubeconfig(server, "    client-certificate: client.crt"),
        kubeconfig(server, "    exec: {command: aws}"),
        kubeconfig("    server: ftp://127.0.0.1", "    token: x"),
        kubeconfig(server, "    token: x", current="other"),
        kubeconfig(server + "\n    certificate-authority-data: '!!!'", "    token: x"),
        "apiVersion: v1\nkind: Config\n",
        "[]",
    ]


def http(head, body=""):
    return head.replace("\n", "\r\n") + "\r\n" + body


def http_seeds():
    review = admission_review("CREATE", fixture("diskconfigs/nginx-ebs.yaml"))
    return [
        http("GET / HTTP/1.1\nHost: 127.0.0.1\n"),
        http("GET /healthz HTTP/1.0\n"),
        http("HEAD /metrics HTTP/1.1\nHost: x\n"),
        http(f"POST /validate HTTP/1.1\nHost: x\nContent-Type: application/json\n"
             f"Content-Length: {len(review)}\n", review),
        http("POST / HTTP/1.1\nHost: x\nTransfer-Encoding: chunked\n", "5\r\nhello\r\n0\r\n\r\n"),
        http("POST / HTTP/1.1\nHost: x\nExpect: 100-continue\nContent-Length: 3\n", "abc"),
        http("POST / HTTP/1.1\nHost: x\nContent-Length: 5000\n", "x" * 64),
        http("GET /a HTTP/1.1\nHost: x\n") + http("GET /b HTTP/1.1\nHost: x\nConnection: close\n"),
        http("GET / HTTP/1.1\nHost: x\nX-Fuzz-Status: 204\n"),
        http("GET / HTTP/1.1\nHost: x\nX-Fuzz-Status: 999\n"),
        http("GET / HTTP/1.1\nHost: x\nX-Fuzz-Header: X-Ok: yes\n"),
        http("GET / HTTP/1.1\nHost: x\nX-Fuzz-Header: Bad Name: x\n"),
        http("GET / HTTP/1.1\nHost: x\nA: 1\nA: 2\n"),
        "GET / HTTP/1.1\r\nHost: x\r\n",
        "BREW /pot HTCPCP/1.0\r\n\r\n",
        "\x16\x03\x01\x00\xa5\x01\x00\x00\xa1\x03\x03",  # a TLS ClientHello's start
    ]


def wasm_section(section_id, content):
    return bytes([section_id]) + leb_u32(len(content)) + content


def leb_u32(value):
    out = bytearray()
    while True:
        byte = value & 0x7F
        value >>= 7
        out.append(byte | (0x80 if value else 0))
        if not value:
            return bytes(out)


def wasm_module(*sections):
    return b"\0asm\1\0\0\0" + b"".join(sections)


def wasm_binary_seeds():
    # Small modules only (the multi-MB Go drivers would slow every run): WAT
    # modules the tests use, and hand-built ones with the parts those lack.
    seeds = []
    with tempfile.TemporaryDirectory() as tmp:
        for name in ["preinit_state", "scripted", "bad_writes", "nonzero_exit", "fragile"]:
            out = pathlib.Path(tmp) / (name + ".wasm")
            subprocess.run(["wat2wasm", str(ROOT / "tests" / "wasm" / "hostile" / (name + ".wat")),
                            "-o", str(out)], check=True)
            seeds.append(out.read_bytes())
    memory = wasm_section(5, b"\x01\x01\x01\x04")
    seeds += [
        wasm_module(),
        # Table, memory, mutable globals (i32, f32, v128), datacount, active and
        # passive data, a start function and a name section.
        wasm_module(
            wasm_section(1, b"\x01\x60\x00\x00"),
            wasm_section(3, b"\x01\x00"),
            wasm_section(4, b"\x01\x70\x00\x02"),
            memory,
            wasm_section(6, b"\x03\x7f\x01\x41\x05\x0b\x7d\x01\x43\x00\x00\x80\x3f\x0b"
                            b"\x7b\x01\xfd\x0c" + bytes(16) + b"\x0b"),
            wasm_section(7, b"\x01\x0b_initialize\x00\x00"),
            wasm_section(8, b"\x00"),
            wasm_section(12, b"\x02"),
            wasm_section(10, b"\x01\x02\x00\x0b"),
            wasm_section(11, b"\x02\x00\x41\x10\x0b\x02hi\x01\x03abc"),
            wasm_section(0, b"\x04name\x00\x01\x00")),
        # Imports of every kind, memory64, an explicit table initializer.
        wasm_module(
            wasm_section(2, b"\x04\x01a\x01f\x00\x00\x01a\x01t\x01\x70\x00\x01"
                            b"\x01a\x01g\x03\x7e\x01\x01a\x01m\x02\x05\x01\x02"),
            wasm_section(4, b"\x01\x40\x00\x70\x00\x01\xd0\x70\x0b"),
            wasm_section(5, b"\x01\x04\x01")),
        # Memory only, data past the first page and a trailing custom section.
        wasm_module(memory, wasm_section(11, b"\x01\x00\x41\x80\x80\x04\x0b\x01z"),
                    wasm_section(0, b"\x09producers")),
    ]
    return seeds


def main():
    write("quantity", quantity_seeds())
    write("document", document_seeds())
    write("admission_review", admission_seeds())
    write("interpret", interpret_seeds())
    write("kubeconfig", kubeconfig_seeds())
    write("http_server", http_seeds())
    write("wasm_binary", wasm_binary_seeds())


if __name__ == "__main__":
    main()
