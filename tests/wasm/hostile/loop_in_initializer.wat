;; Spins forever in _initialize, before the function is reached.
(module
  (memory (export "memory") 1)
  (func (export "_initialize")
    (loop $forever (br $forever)))
  (func (export "IsStorageClassValid")))
