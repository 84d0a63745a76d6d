;; For preinit_test: a passive data segment, which memory.init could copy again
;; after a snapshot was taken, so the module cannot be snapshotted.
(module
  (memory (export "memory") 1)
  (data $later "copied on demand")
  (func (export "_initialize")
    (memory.init $later (i32.const 0) (i32.const 0) (i32.const 6)))
  (func (export "IsStorageClassValid")))
