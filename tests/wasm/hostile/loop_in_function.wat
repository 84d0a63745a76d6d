;; Spins forever in the called function: stopped by the time limit.
(module
  (memory (export "memory") 1)
  (func (export "_initialize"))
  (func (export "IsStorageClassValid")
    (loop $forever (br $forever))))
