;; Writes a message to stderr, then exits with code 3.
(module
  (import "wasi_snapshot_preview1" "fd_write"
    (func $fd_write (param i32 i32 i32 i32) (result i32)))
  (import "wasi_snapshot_preview1" "proc_exit" (func $proc_exit (param i32)))
  (memory (export "memory") 1)
  (data (i32.const 0) "\40\00\00\00\0c\00\00\00")
  (data (i32.const 64) "driver broke")
  (func (export "_initialize"))
  (func (export "IsStorageClassValid")
    (drop (call $fd_write (i32.const 2) (i32.const 0) (i32.const 1) (i32.const 16)))
    (call $proc_exit (i32.const 3))))
