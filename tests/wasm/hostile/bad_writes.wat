;; Writes where a driver may not: to a descriptor that does not exist, and with
;; iovecs that point outside its memory. Prints the three errnos it got, as
;; two-digit numbers ("08 21 21\n"), to show that fd_write refuses each one
;; cleanly and the call goes on.
(module
  (import "wasi_snapshot_preview1" "fd_write"
    (func $fd_write (param i32 i32 i32 i32) (result i32)))
  (memory (export "memory") 1)
  (data (i32.const 16) "x")
  ;; Stores `value` as two decimal digits and a separator at `at`.
  (func $put (param $at i32) (param $value i32) (param $separator i32)
    (i32.store8 (local.get $at)
      (i32.add (i32.const 48) (i32.div_u (local.get $value) (i32.const 10))))
    (i32.store8 offset=1 (local.get $at)
      (i32.add (i32.const 48) (i32.rem_u (local.get $value) (i32.const 10))))
    (i32.store8 offset=2 (local.get $at) (local.get $separator)))
  (func (export "IsStorageClassValid")
    ;; iovec at 0: one byte at 16.
    (i32.store (i32.const 0) (i32.const 16))
    (i32.store (i32.const 4) (i32.const 1))
    ;; fd 3 does not exist.
    (call $put (i32.const 100)
      (call $fd_write (i32.const 3) (i32.const 0) (i32.const 1) (i32.const 8)) (i32.const 32))
    ;; The iovec array runs past the end of memory.
    (call $put (i32.const 103)
      (call $fd_write (i32.const 1) (i32.const 65532) (i32.const 1) (i32.const 8)) (i32.const 32))
    ;; An iovec whose buffer lies past the end of memory.
    (i32.store (i32.const 24) (i32.const 65000))
    (i32.store (i32.const 28) (i32.const 1000))
    (call $put (i32.const 106)
      (call $fd_write (i32.const 1) (i32.const 24) (i32.const 1) (i32.const 8)) (i32.const 10))
    (i32.store (i32.const 0) (i32.const 100))
    (i32.store (i32.const 4) (i32.const 9))
    (drop (call $fd_write (i32.const 1) (i32.const 0) (i32.const 1) (i32.const 8)))))
