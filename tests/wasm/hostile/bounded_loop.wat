;; Counts to 200 million and returns: long enough to see several epoch ticks
;; (5 ms each), so a deadline already past stops it, and a far one does not.
(module
  (memory (export "memory") 1)
  (func (export "_initialize"))
  (func (export "IsStorageClassValid") (local $i i32)
    (loop $next
      (local.set $i (i32.add (local.get $i) (i32.const 1)))
      (br_if $next (i32.lt_u (local.get $i) (i32.const 200000000))))))
