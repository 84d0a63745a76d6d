;; Declares ABI v2 with a marker of the wrong type (a function with a
;; parameter): the host must refuse to load it rather than guess its ABI.
(module
  (memory (export "memory") 1)
  (func (export "discoblocks_abi_v2") (param i32))
  (func (export "IsStorageClassValid")))
