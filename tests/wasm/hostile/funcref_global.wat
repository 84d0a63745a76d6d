;; For preinit_test: a mutable funcref global, a value a snapshot cannot write
;; as a constant, so the module cannot be snapshotted.
(module
  (memory (export "memory") 1)
  (global $handler (mut funcref) (ref.null func))
  (func $nothing)
  (elem declare func $nothing)
  (func (export "_initialize") (global.set $handler (ref.func $nothing)))
  (func (export "IsStorageClassValid")))
