;; Declares 3000 pages (about 188 MiB) of initial memory, above the default cap.
(module
  (memory (export "memory") 3000)
  (func (export "_initialize"))
  (func (export "IsStorageClassValid")))
