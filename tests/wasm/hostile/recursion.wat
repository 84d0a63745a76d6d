;; Recurses without end: a stack overflow, not a crash of the host.
(module
  (memory (export "memory") 1)
  (func $deeper (param i64) (result i64)
    (i64.add (call $deeper (i64.add (local.get 0) (i64.const 1))) (i64.const 1)))
  (func (export "_initialize"))
  (func (export "IsStorageClassValid")
    (drop (call $deeper (i64.const 0)))))
