;; For preinit_test: `_initialize` prints "from init\n" and the function
;; "from call\n"; a snapshot's calls must print only the latter.
(module
  (import "wasi_snapshot_preview1" "fd_write"
    (func $fd_write (param i32 i32 i32 i32) (result i32)))
  (memory (export "memory") 1)
  (data (i32.const 64) "from init\n")
  (data (i32.const 80) "from call\n")
  (func $say (param $at i32)
    (i32.store (i32.const 0) (local.get $at))
    (i32.store (i32.const 4) (i32.const 10))
    (drop (call $fd_write (i32.const 1) (i32.const 0) (i32.const 1) (i32.const 16))))
  (func (export "_initialize") (call $say (i32.const 64)))
  (func (export "IsStorageClassValid") (call $say (i32.const 80))))
