;; Grows its memory one page at a time without end; traps when growth is refused.
(module
  (memory (export "memory") 1)
  (func (export "_initialize"))
  (func (export "IsStorageClassValid")
    (loop $grow
      (if (i32.eq (memory.grow (i32.const 1)) (i32.const -1))
        (then unreachable))
      (br $grow))))
