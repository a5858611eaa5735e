/* Hand-written support for the Swift protobuf-c bridge (StrataWire/Bridge). */
#ifndef STRATA_WIRE_SUPPORT_H
#define STRATA_WIRE_SUPPORT_H
#include <stddef.h>
#include <stdint.h>
#include <protobuf-c/protobuf-c.h>

/** The descriptor of the message with this full protobuf name ("strata.ServiceInfo"), or NULL. */
const ProtobufCMessageDescriptor *strata_wire_descriptor_named(const char *name);

/** CRC-32 as zlib computes it (IEEE 802.3 polynomial), continuing from `crc` (start with 0). */
uint32_t strata_wire_crc32(uint32_t crc, const uint8_t *bytes, size_t count);

#endif
