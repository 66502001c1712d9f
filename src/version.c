/* SPDX-License-Identifier: MIT */
#include "virtq/version.h"

/* The string of the headers this library was built from. */
const char *virtq_version(void)
{
	return VIRTQ_VERSION_STRING;
}
