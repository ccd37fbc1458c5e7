/* CRC-32C (Castagnoli, reflected polynomial 0x82F63B78), as used by the VHDX checksums
 * (MS-VHDX 2.2, 2.3.1.1). Table driven, no hardware dependency. */
#ifndef KEEL_LIB_CRC32C_H
#define KEEL_LIB_CRC32C_H

#include <stddef.h>
#include <stdint.h>

/* Continue a CRC: start with crc = 0 for a fresh checksum. */
uint32_t crc32c(uint32_t crc, const void *buf, size_t len);

#endif
