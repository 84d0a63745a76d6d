;; For preinit_test: `_initialize` traps, so no snapshot can be taken.
(module
  (memory (export "memory") 1)
  (func (export "_initialize") unreachable)
  (func (export "IsStorageClassValid")))
