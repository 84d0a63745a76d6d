;; An ABI v2-style reactor that reads its stdin, to test the host's fd_read:
;; Echo copies stdin to stdout through a 7-byte buffer (so inputs take many
;; reads), ReadOtherFd and ReadBadBuffer print the errno of a read the host
;; must refuse (ReadBadBuffer then echoes stdin after a "9"), and _initialize
;; writes the number of bytes it could read from stdin to stderr.
(module
  (import "wasi_snapshot_preview1" "fd_read"
    (func $fd_read (param i32 i32 i32 i32) (result i32)))
  (import "wasi_snapshot_preview1" "fd_write"
    (func $fd_write (param i32 i32 i32 i32) (result i32)))
  (memory (export "memory") 1)
  ;; Layout: 0..8 read iovec, 8..12 nread, 16..24 write iovec, 24..28 nwritten,
  ;; 64..71 read buffer, 128.. text.
  (data (i32.const 128) "0123456789")
  (func $write (param $fd i32) (param $at i32) (param $len i32)
    (i32.store (i32.const 16) (local.get $at))
    (i32.store (i32.const 20) (local.get $len))
    (drop (call $fd_write (local.get $fd) (i32.const 16) (i32.const 1) (i32.const 24))))
  ;; Writes the number (0..99) as decimal digits on fd.
  (func $write_number (param $fd i32) (param $n i32)
    (if (i32.ge_u (local.get $n) (i32.const 10))
      (then (call $write (local.get $fd)
              (i32.add (i32.const 128) (i32.div_u (local.get $n) (i32.const 10))) (i32.const 1))))
    (call $write (local.get $fd)
      (i32.add (i32.const 128) (i32.rem_u (local.get $n) (i32.const 10))) (i32.const 1)))
  ;; Reads once from fd 0 into the 7-byte buffer; returns nread, or -1 on error.
  (func $read_once (result i32)
    (i32.store (i32.const 0) (i32.const 64))
    (i32.store (i32.const 4) (i32.const 7))
    (if (result i32) (i32.eqz (call $fd_read (i32.const 0) (i32.const 0) (i32.const 1) (i32.const 8)))
      (then (i32.load (i32.const 8)))
      (else (i32.const -1))))
  (func (export "_initialize") (local $n i32)
    (local.set $n (call $read_once))
    (call $write_number (i32.const 2) (local.get $n)))
  (func (export "discoblocks_abi_v2"))
  (func $echo (local $n i32)
    (block $eof
      (loop $more
        (local.set $n (call $read_once))
        (br_if $eof (i32.le_s (local.get $n) (i32.const 0)))
        (call $write (i32.const 1) (i32.const 64) (local.get $n))
        (br $more))))
  (func (export "Echo") (call $echo))
  (func (export "ReadOtherFd")
    (i32.store (i32.const 0) (i32.const 64))
    (i32.store (i32.const 4) (i32.const 7))
    (call $write_number (i32.const 1)
      (call $fd_read (i32.const 1) (i32.const 0) (i32.const 1) (i32.const 8))))
  (func (export "ReadBadBuffer")
    ;; The buffer runs past the end of the 64 KiB memory.
    (i32.store (i32.const 0) (i32.const 65530))
    (i32.store (i32.const 4) (i32.const 7))
    (call $write_number (i32.const 1)
      (call $fd_read (i32.const 0) (i32.const 0) (i32.const 1) (i32.const 8)))
    ;; Nothing was consumed: the whole input follows.
    (call $write (i32.const 1) (i32.const 137) (i32.const 1))
    (call $echo)))
