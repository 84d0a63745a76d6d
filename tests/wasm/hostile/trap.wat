;; Traps at once.
(module
  (memory (export "memory") 1)
  (func (export "_initialize"))
  (func (export "IsStorageClassValid") unreachable))
