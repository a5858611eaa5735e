/* Hand-written support for the Swift protobuf-c bridge (StrataWire/Bridge). */
#include "wire_support.h"
#include <zlib.h>

uint32_t strata_wire_crc32(uint32_t crc, const uint8_t *bytes, size_t count) {
  /* zlib takes uInt lengths; feed large buffers in pieces. */
  while (count > 0) {
    uInt piece = count > (size_t)0x40000000u ? (uInt)0x40000000u : (uInt)count;
    crc = (uint32_t)crc32((uLong)crc, bytes, piece);
    bytes += piece;
    count -= piece;
  }
  return crc;
}
