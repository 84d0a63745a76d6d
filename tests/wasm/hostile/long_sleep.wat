;; Sleeps for an hour in poll_oneoff: blocked in the host, not in WebAssembly.
(module
  (import "wasi_snapshot_preview1" "poll_oneoff"
    (func $poll_oneoff (param i32 i32 i32 i32) (result i32)))
  (memory (export "memory") 1)
  ;; One subscription at 0: userdata 0, tag 0 (clock), clock id 1 (monotonic),
  ;; timeout 3600 s in ns = 0x0000_0346_30B8_A000, precision 0, flags 0 (relative).
  (data (i32.const 16) "\01\00\00\00\00\00\00\00\00\a0\b8\30\46\03\00\00")
  (func (export "_initialize"))
  (func (export "IsStorageClassValid")
    (drop (call $poll_oneoff (i32.const 0) (i32.const 64) (i32.const 1) (i32.const 128)))))
