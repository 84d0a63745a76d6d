;; A reactor that answers every contract function sensibly (except GetPVCStub,
;; which prints nothing) but traps when its environment is larger than 100000
;; bytes: the conformance suite's "huge input" checks must catch that.
(module
  (import "wasi_snapshot_preview1" "fd_write"
    (func $fd_write (param i32 i32 i32 i32) (result i32)))
  (import "wasi_snapshot_preview1" "environ_sizes_get"
    (func $environ_sizes_get (param i32 i32) (result i32)))
  (memory (export "memory") 1)
  (data (i32.const 100) "true")
  (data (i32.const 110) "kube-system")
  (data (i32.const 130) "{\"app\":\"fragile\"}")
  (data (i32.const 150) "DEV=/dev/sdb")
  (data (i32.const 170) "false")
  ;; Traps on a large environment, as a driver with a fixed-size buffer would.
  (func $guard
    (drop (call $environ_sizes_get (i32.const 16) (i32.const 20)))
    (if (i32.gt_u (i32.load (i32.const 20)) (i32.const 100000)) (then unreachable)))
  (func $print (param $ptr i32) (param $len i32)
    (call $guard)
    (i32.store (i32.const 0) (local.get $ptr))
    (i32.store (i32.const 4) (local.get $len))
    (drop (call $fd_write (i32.const 1) (i32.const 0) (i32.const 1) (i32.const 8))))
  (func (export "_initialize"))
  (func (export "IsStorageClassValid") (call $print (i32.const 100) (i32.const 4)))
  (func (export "GetStorageClassAllowedTopology") (call $guard))
  (func (export "GetPVCStub") (call $guard))
  (func (export "GetCSIDriverNamespace") (call $print (i32.const 110) (i32.const 11)))
  (func (export "GetCSIDriverPodLabels") (call $print (i32.const 130) (i32.const 17)))
  (func (export "GetPreMountCommand") (call $print (i32.const 150) (i32.const 12)))
  (func (export "GetPreResizeCommand") (call $print (i32.const 150) (i32.const 12)))
  (func (export "IsFileSystemManaged") (call $print (i32.const 170) (i32.const 5)))
  (func (export "WaitForVolumeAttachmentMeta") (call $guard)))
