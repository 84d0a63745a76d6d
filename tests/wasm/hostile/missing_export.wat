;; A valid module that exports none of the contract's functions.
(module
  (memory (export "memory") 1)
  (func (export "_initialize")))
