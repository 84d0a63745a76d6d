;; Exports IsStorageClassValid with a parameter: not callable per the contract.
(module
  (memory (export "memory") 1)
  (func (export "_initialize"))
  (func (export "IsStorageClassValid") (param i32)))
