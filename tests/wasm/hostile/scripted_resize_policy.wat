;; The scripted module (scripted.wat) with the optional GetResizePolicy as
;; well: OUT is copied to stdout, ERR to stderr. scripted.wat itself stays
;; without it, as a driver built before the function existed.
(module
  (import "wasi_snapshot_preview1" "environ_sizes_get"
    (func $environ_sizes_get (param i32 i32) (result i32)))
  (import "wasi_snapshot_preview1" "environ_get"
    (func $environ_get (param i32 i32) (result i32)))
  (import "wasi_snapshot_preview1" "fd_write"
    (func $fd_write (param i32 i32 i32 i32) (result i32)))
  (import "wasi_snapshot_preview1" "proc_exit" (func $proc_exit (param i32)))
  (memory (export "memory") 2)
  ;; Layout: 0..16 scratch, 1024.. environ pointers, 4096.. environ strings.
  (func $starts_with_prefix (param $s i32) (param $c0 i32) (param $c1 i32) (param $c2 i32)
                            (result i32)
    ;; Is the string "<c0><c1><c2>=..." (for 3-letter names "OUT"/"ERR")?
    (i32.and
      (i32.and (i32.eq (i32.load8_u (local.get $s)) (local.get $c0))
               (i32.eq (i32.load8_u offset=1 (local.get $s)) (local.get $c1)))
      (i32.and (i32.eq (i32.load8_u offset=2 (local.get $s)) (local.get $c2))
               (i32.eq (i32.load8_u offset=3 (local.get $s)) (i32.const 61)))))
  (func $strlen (param $s i32) (result i32) (local $n i32)
    (block $done
      (loop $next
        (br_if $done (i32.eqz (i32.load8_u (i32.add (local.get $s) (local.get $n)))))
        (local.set $n (i32.add (local.get $n) (i32.const 1)))
        (br $next)))
    (local.get $n))
  (func $write (param $fd i32) (param $s i32)
    (i32.store (i32.const 0) (local.get $s))
    (i32.store (i32.const 4) (call $strlen (local.get $s)))
    (drop (call $fd_write (local.get $fd) (i32.const 0) (i32.const 1) (i32.const 8))))
  (func $run (local $count i32) (local $i i32) (local $s i32)
    (drop (call $environ_sizes_get (i32.const 8) (i32.const 12)))
    (drop (call $environ_get (i32.const 1024) (i32.const 4096)))
    (local.set $count (i32.load (i32.const 8)))
    (block $done
      (loop $each
        (br_if $done (i32.ge_u (local.get $i) (local.get $count)))
        (local.set $s (i32.load (i32.add (i32.const 1024) (i32.mul (local.get $i) (i32.const 4)))))
        (if (call $starts_with_prefix (local.get $s) (i32.const 79) (i32.const 85) (i32.const 84))
          (then (call $write (i32.const 1) (i32.add (local.get $s) (i32.const 4)))))
        (if (call $starts_with_prefix (local.get $s) (i32.const 69) (i32.const 82) (i32.const 82))
          (then (call $write (i32.const 2) (i32.add (local.get $s) (i32.const 4)))))
        (local.set $i (i32.add (local.get $i) (i32.const 1)))
        (br $each))))
  (func (export "_start") (call $proc_exit (i32.const 0)))
  (func (export "IsStorageClassValid") (call $run))
  (func (export "GetStorageClassAllowedTopology") (call $run))
  (func (export "GetPVCStub") (call $run))
  (func (export "GetCSIDriverNamespace") (call $run))
  (func (export "GetCSIDriverPodLabels") (call $run))
  (func (export "GetPreMountCommand") (call $run))
  (func (export "GetPreResizeCommand") (call $run))
  (func (export "IsFileSystemManaged") (call $run))
  (func (export "WaitForVolumeAttachmentMeta") (call $run))
  (func (export "GetResizePolicy") (call $run)))
