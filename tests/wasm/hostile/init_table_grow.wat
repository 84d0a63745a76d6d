;; For preinit_test: `_initialize` grows a table, state a snapshot does not carry.
(module
  (memory (export "memory") 1)
  (table $functions 1 funcref)
  (func $nothing)
  (elem (i32.const 0) $nothing)
  (func (export "_initialize")
    (drop (table.grow $functions (ref.func $nothing) (i32.const 3))))
  (func (export "IsStorageClassValid")))
