;; Exports only GetCSIDriverNamespace, which answers "n" and ten digits of the
;; wall clock's nanoseconds: a different namespace on every call.
(module
  (import "wasi_snapshot_preview1" "fd_write"
    (func $fd_write (param i32 i32 i32 i32) (result i32)))
  (import "wasi_snapshot_preview1" "clock_time_get"
    (func $clock_time_get (param i32 i64 i32) (result i32)))
  (memory (export "memory") 1)
  (func (export "_initialize"))
  (func (export "GetCSIDriverNamespace") (local $t i64) (local $i i32)
    (drop (call $clock_time_get (i32.const 0) (i64.const 1) (i32.const 16)))
    (local.set $t (i64.load (i32.const 16)))
    (i32.store8 (i32.const 100) (i32.const 110))
    (local.set $i (i32.const 10))
    (loop $digit
      (i32.store8 (i32.add (i32.const 100) (local.get $i))
        (i32.add (i32.const 48) (i32.wrap_i64 (i64.rem_u (local.get $t) (i64.const 10)))))
      (local.set $t (i64.div_u (local.get $t) (i64.const 10)))
      (local.set $i (i32.sub (local.get $i) (i32.const 1)))
      (br_if $digit (i32.gt_u (local.get $i) (i32.const 0))))
    (i32.store (i32.const 0) (i32.const 100))
    (i32.store (i32.const 4) (i32.const 11))
    (drop (call $fd_write (i32.const 1) (i32.const 0) (i32.const 1) (i32.const 8)))))
