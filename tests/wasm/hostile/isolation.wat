;; For preinit_test: state that a faithful snapshot restores at every call, and
;; that a call must never leave behind for the next one.
;;
;; The start function sets g0 = 1; `_initialize` multiplies it by 10 (a snapshot
;; that re-ran the start function would show 1), sets the other globals,
;; overwrites part of the data segment, grows memory to 3 pages, writes a marker
;; on the last page, sleeps 20 ms and stores a monotonic clock reading.
;;
;; `probe` checks that everything is exactly as `_initialize` left it (globals,
;; data, marker, memory size, zeroed scratch areas on every page, the table, a
;; clock no earlier than the initializer's reading, and an absolute monotonic
;; sleep on that same clock), printing "clean" or "dirty <what>". It then
;; dirties all of it and grows memory, for the next call to catch.
;;
;; Globals: i32, i64, f32, f64 and v128, all mutable, and one immutable.
;;
;; Memory: 0 iovec, 16 nwritten, 256.. messages, 1024 data, 2048 the
;; initializer's clock reading, 2056 the probe's, 2064 nevents, 3072 a
;; subscription, 3136 its event, 4096..8191, 65536..69631 and 131072..135167
;; zero, 196600 the marker.
(module
  (import "wasi_snapshot_preview1" "fd_write"
    (func $fd_write (param i32 i32 i32 i32) (result i32)))
  (import "wasi_snapshot_preview1" "clock_time_get"
    (func $clock_time_get (param i32 i64 i32) (result i32)))
  (import "wasi_snapshot_preview1" "poll_oneoff"
    (func $poll_oneoff (param i32 i32 i32 i32) (result i32)))
  (type $answer (func (result i32)))
  (memory (export "memory") 1)
  (global $g0 (mut i32) (i32.const 0))
  (global $g1 (mut i64) (i64.const 0))
  (global $g2 (mut f32) (f32.const 0))
  (global $g3 (mut f64) (f64.const 0))
  (global $g4 (mut v128) (v128.const i64x2 0 0))
  (global $fixed i32 (i32.const 7))
  (table 2 funcref)
  (elem (i32.const 0) $seven $eight)
  (data (i32.const 256) "clean\n")
  (data (i32.const 272) "dirty g0\n")
  (data (i32.const 288) "dirty g1\n")
  (data (i32.const 304) "dirty g2\n")
  (data (i32.const 320) "dirty g3\n")
  (data (i32.const 336) "dirty memory.size\n")
  (data (i32.const 368) "dirty data\n")
  (data (i32.const 384) "dirty marker\n")
  (data (i32.const 400) "dirty scratch\n")
  (data (i32.const 416) "dirty table\n")
  (data (i32.const 432) "dirty clock\n")
  (data (i32.const 448) "dirty sleep\n")
  (data (i32.const 464) "dirty g4\n")
  (data (i32.const 1024) "0123456789abcdef")

  (func $seven (type $answer) (i32.const 7))
  (func $eight (type $answer) (i32.const 8))

  (func $start (global.set $g0 (i32.const 1)))
  (start $start)

  (func $say (param $at i32) (param $length i32)
    (i32.store (i32.const 0) (local.get $at))
    (i32.store (i32.const 4) (local.get $length))
    (drop (call $fd_write (i32.const 1) (i32.const 0) (i32.const 1) (i32.const 16))))

  (func $monotonic (result i64)
    (drop (call $clock_time_get (i32.const 1) (i64.const 0) (i32.const 2056)))
    (i64.load (i32.const 2056)))

  ;; Waits on one monotonic clock subscription; returns its event's errno, or
  ;; -1 when poll_oneoff itself failed or reported no event.
  (func $sleep (param $timeout i64) (param $flags i32) (result i32)
    (memory.fill (i32.const 3072) (i32.const 0) (i32.const 96))
    (i32.store (i32.const 3088) (i32.const 1))           ;; monotonic
    (i64.store (i32.const 3096) (local.get $timeout))
    (i32.store16 (i32.const 3112) (local.get $flags))
    (if (i32.ne (call $poll_oneoff (i32.const 3072) (i32.const 3136) (i32.const 1)
                                   (i32.const 2064)) (i32.const 0))
      (then (return (i32.const -1))))
    (if (i32.ne (i32.load (i32.const 2064)) (i32.const 1)) (then (return (i32.const -1))))
    (i32.load16_u (i32.const 3144)))

  ;; 1 when [at, at + length) is all zero (length a multiple of 8).
  (func $zero (param $at i32) (param $length i32) (result i32)
    (local $end i32)
    (local.set $end (i32.add (local.get $at) (local.get $length)))
    (block $done
      (loop $next
        (br_if $done (i32.ge_u (local.get $at) (local.get $end)))
        (if (i64.ne (i64.load (local.get $at)) (i64.const 0)) (then (return (i32.const 0))))
        (local.set $at (i32.add (local.get $at) (i32.const 8)))
        (br $next)))
    (i32.const 1))

  (func (export "_initialize")
    (global.set $g0 (i32.mul (global.get $g0) (i32.const 10)))
    (global.set $g1 (i64.const 0x123456789abcdef0))
    (global.set $g2 (f32.const 1.5))
    (global.set $g3 (f64.const -2.25))
    (global.set $g4 (v128.const i64x2 0x0102030405060708 -3))
    (i32.store (i32.const 1024) (i32.const 0x54494e49))  ;; "INIT"
    (if (i32.ne (memory.grow (i32.const 2)) (i32.const 1)) (then unreachable))
    (i64.store (i32.const 196600) (i64.const 0x52454b52414d))  ;; "MARKER"
    (if (i32.ne (call $sleep (i64.const 20000000) (i32.const 0)) (i32.const 0))
      (then unreachable))
    (i64.store (i32.const 2048) (call $monotonic))
    (i64.store (i32.const 2056) (i64.const 0)))

  (func $verify
    (local $target i64)
    (if (i32.ne (global.get $g0) (i32.const 10))
      (then (call $say (i32.const 272) (i32.const 9)) (return)))
    (if (i64.ne (global.get $g1) (i64.const 0x123456789abcdef0))
      (then (call $say (i32.const 288) (i32.const 9)) (return)))
    (if (f32.ne (global.get $g2) (f32.const 1.5))
      (then (call $say (i32.const 304) (i32.const 9)) (return)))
    (if (f64.ne (global.get $g3) (f64.const -2.25))
      (then (call $say (i32.const 320) (i32.const 9)) (return)))
    (if (i32.or (i64.ne (i64x2.extract_lane 0 (global.get $g4)) (i64.const 0x0102030405060708))
                (i64.ne (i64x2.extract_lane 1 (global.get $g4)) (i64.const -3)))
      (then (call $say (i32.const 464) (i32.const 9)) (return)))
    (if (i32.ne (memory.size) (i32.const 3))
      (then (call $say (i32.const 336) (i32.const 18)) (return)))
    (if (i32.or (i64.ne (i64.load (i32.const 1024)) (i64.const 0x3736353454494e49))  ;; "INIT4567"
                (i64.ne (i64.load (i32.const 1032)) (i64.const 0x6665646362613938)))  ;; "89abcdef"
      (then (call $say (i32.const 368) (i32.const 11)) (return)))
    (if (i64.ne (i64.load (i32.const 196600)) (i64.const 0x52454b52414d))
      (then (call $say (i32.const 384) (i32.const 13)) (return)))
    (if (i32.eqz (i32.and (call $zero (i32.const 4096) (i32.const 4096))
                          (i32.and (call $zero (i32.const 65536) (i32.const 4096))
                                   (call $zero (i32.const 131072) (i32.const 4096)))))
      (then (call $say (i32.const 400) (i32.const 14)) (return)))
    (if (i32.or (i32.ne (call_indirect (type $answer) (i32.const 0)) (i32.const 7))
                (i32.ne (call_indirect (type $answer) (i32.const 1)) (i32.const 8)))
      (then (call $say (i32.const 416) (i32.const 12)) (return)))
    ;; The initializer's reading is there, and time has not gone back since.
    (if (i32.or (i64.eqz (i64.load (i32.const 2048)))
                (i64.lt_u (call $monotonic) (i64.load (i32.const 2048))))
      (then (call $say (i32.const 432) (i32.const 12)) (return)))
    ;; An absolute monotonic deadline 200 us ahead is on the same clock.
    (local.set $target (i64.add (call $monotonic) (i64.const 200000)))
    (if (i32.or (i32.ne (call $sleep (local.get $target) (i32.const 1)) (i32.const 0))
                (i64.lt_u (call $monotonic) (local.get $target)))
      (then (call $say (i32.const 448) (i32.const 12)) (return)))
    (call $say (i32.const 256) (i32.const 6)))

  (func $dirty
    (global.set $g0 (i32.const -1))
    (global.set $g1 (i64.const -1))
    (global.set $g2 (f32.const -1))
    (global.set $g3 (f64.const -1))
    (global.set $g4 (v128.const i64x2 -1 -1))
    (memory.fill (i32.const 1024) (i32.const 0xaa) (i32.const 16))
    (i64.store (i32.const 2048) (i64.const -1))
    (memory.fill (i32.const 4096) (i32.const 0xaa) (i32.const 4096))
    (memory.fill (i32.const 65536) (i32.const 0xaa) (i32.const 4096))
    (memory.fill (i32.const 131072) (i32.const 0xaa) (i32.const 4096))
    (i64.store (i32.const 196600) (i64.const 0))
    (if (i32.ne (memory.grow (i32.const 1)) (i32.const 3)) (then unreachable))
    (i64.store (i32.const 196608) (i64.const -1)))

  (func (export "probe")
    (call $verify)
    (call $dirty)))
