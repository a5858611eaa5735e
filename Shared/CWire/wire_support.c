/* Hand-written support for the Swift protobuf-c bridge (StrataWire/Bridge). */
#include "wire_support.h"
#include <libdeflate.h>

uint32_t strata_wire_crc32(uint32_t crc, const uint8_t *bytes, size_t count) {
  /* libdeflate's crc32 is zlib's (same polynomial, same values) with carry-less multiplication
     (PCLMULQDQ) where the CPU has it: several times faster on block payloads. */
  return libdeflate_crc32(crc, bytes, count);
}
