;; For preinit_load_test: a v2 module whose `_initialize` traps, so no snapshot
;; can be taken. Loading it with pre-initialization asked for must still work,
;; and its calls fail exactly as they do without: in the initializer.
(module
  (memory (export "memory") 1)
  (func (export "discoblocks_abi_v2"))
  (func (export "_initialize") unreachable)
  (func (export "IsStorageClassValid")))
