#include "wasm/handles.h"

namespace discoblocks::wasm {
namespace {

std::string TakeBytes(wasm_byte_vec_t* bytes) {
  std::string text(bytes->data, bytes->size);
  wasm_byte_vec_delete(bytes);
  return text;
}

}  // namespace

std::string MessageOf(const wasmtime_error_t* error) {
  wasm_byte_vec_t bytes;
  wasmtime_error_message(error, &bytes);
  return TakeBytes(&bytes);
}

std::string MessageOf(const wasm_trap_t* trap) {
  wasm_byte_vec_t bytes;
  wasm_trap_message(trap, &bytes);
  // The C API's trap message is NUL-terminated; the NUL is not part of the text.
  std::string text = TakeBytes(&bytes);
  while (!text.empty() && text.back() == '\0') text.pop_back();
  return text;
}

}  // namespace discoblocks::wasm
