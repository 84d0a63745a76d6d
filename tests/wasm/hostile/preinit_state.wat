;; For wasm_binary_test: state that only a faithful snapshot carries. The
;; initializer grows memory to 2 pages, writes two iovecs and "ready\n" into the
;; new page, erases the "initial" data segment and sets three mutable globals.
;; The function traps unless the globals hold what the initializer set, then
;; prints "ready\n" and the 7 erased bytes.
(module
  (import "wasi_snapshot_preview1" "fd_write"
    (func $fd_write (param i32 i32 i32 i32) (result i32)))
  (memory (export "memory") 1 4)
  (global $ready (mut i32) (i32.const 0))
  (global $big (mut i64) (i64.const -5))
  (global $ratio (mut f64) (f64.const 1.5))
  (global $fixed i32 (i32.const 7))
  (data (i32.const 16) "initial")
  (func (export "_initialize")
    (drop (memory.grow (i32.const 1)))
    (i32.store (i32.const 0) (i32.const 65600))   ;; iovec 0: "ready\n"
    (i32.store (i32.const 4) (i32.const 6))
    (i32.store (i32.const 8) (i32.const 16))      ;; iovec 1: the erased bytes
    (i32.store (i32.const 12) (i32.const 7))
    (i32.store (i32.const 65600) (i32.const 0x64616572))  ;; "read"
    (i32.store16 (i32.const 65604) (i32.const 0x0a79))    ;; "y\n"
    (memory.fill (i32.const 16) (i32.const 0) (i32.const 7))
    (global.set $ready (i32.const 42))
    (global.set $big (i64.const 0x10000000000))
    (global.set $ratio (f64.const 2.5)))
  (func (export "IsStorageClassValid")
    (if (i32.ne (global.get $ready) (i32.const 42)) (then unreachable))
    (if (i64.ne (global.get $big) (i64.const 0x10000000000)) (then unreachable))
    (if (f64.ne (global.get $ratio) (f64.const 2.5)) (then unreachable))
    (drop (call $fd_write (i32.const 1) (i32.const 0) (i32.const 2) (i32.const 32)))))
