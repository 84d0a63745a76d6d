;; Writes 4 KiB to stderr over and over.
(module
  (import "wasi_snapshot_preview1" "fd_write"
    (func $fd_write (param i32 i32 i32 i32) (result i32)))
  (memory (export "memory") 1)
  (data (i32.const 0) "\40\00\00\00\00\10\00\00")
  (func (export "_initialize"))
  (func (export "IsStorageClassValid")
    (loop $flood
      (drop (call $fd_write (i32.const 2) (i32.const 0) (i32.const 1) (i32.const 16)))
      (br $flood))))
