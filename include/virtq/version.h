/* SPDX-License-Identifier: MIT */
/*
 * virtq's version: the macros give the headers you compiled against,
 * virtq_version() the library you run with. The build checks that these
 * macros equal the CMake project's version.
 *
 * The shared library's SONAME (libvirtq.so.N) changes whenever the ABI breaks
 * (docs/abi.md); a program can still refuse a library older than its headers:
 *
 *	if (strcmp(virtq_version(), VIRTQ_VERSION_STRING) != 0) ...
 */
#ifndef VIRTQ_VERSION_H
#define VIRTQ_VERSION_H

#include "virtq/common.h"

#define VIRTQ_VERSION_MAJOR 0
#define VIRTQ_VERSION_MINOR 1
#define VIRTQ_VERSION_PATCH 0
#define VIRTQ_VERSION_STRING "0.1.0"
/* One comparable number: 0x00MMmmpp. */
#define VIRTQ_VERSION_NUMBER \
	((VIRTQ_VERSION_MAJOR << 16) | (VIRTQ_VERSION_MINOR << 8) | VIRTQ_VERSION_PATCH)

#ifdef __cplusplus
extern "C" {
#endif

/* The running library's version, "MAJOR.MINOR.PATCH"; never NULL. */
VIRTQ_API const char *virtq_version(void);

#ifdef __cplusplus
}
#endif

#endif /* VIRTQ_VERSION_H */
