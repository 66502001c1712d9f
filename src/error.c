/* SPDX-License-Identifier: MIT */
#include <stddef.h>

#include "virtq/common.h"

struct error_text {
	const char *name;
	const char *text;
};

static const struct error_text error_texts[VIRTQ_ERROR_COUNT] = {
	[VIRTQ_OK] = { "VIRTQ_OK", "success" },
	[VIRTQ_EINVAL] = { "VIRTQ_EINVAL", "invalid argument or call in the wrong state" },
	[VIRTQ_ENOTREADY] = { "VIRTQ_ENOTREADY", "queue not activated" },
	[VIRTQ_EBADADDR] = { "VIRTQ_EBADADDR", "guest address range outside guest memory" },
	[VIRTQ_EBADIDX] = { "VIRTQ_EBADIDX", "ring index out of range, or head already in flight" },
	[VIRTQ_EBADDESC] = { "VIRTQ_EBADDESC", "malformed descriptor" },
	[VIRTQ_ELOOP] = { "VIRTQ_ELOOP", "descriptor chain too long or looping" },
	[VIRTQ_EOVERFLOW] = { "VIRTQ_EOVERFLOW", "arithmetic overflow on guest values" },
	[VIRTQ_ENOSPC] = { "VIRTQ_ENOSPC", "caller's buffer or segment array too small" },
	[VIRTQ_EBROKEN] = { "VIRTQ_EBROKEN", "queue broken by an earlier guest error; reset it" },
	[VIRTQ_EBUSY] = { "VIRTQ_EBUSY", "as many chains in flight as the queue size" },
	[VIRTQ_EMSGSIZE] = { "VIRTQ_EMSGSIZE", "packet larger than the maximum size" },
	[VIRTQ_ESHORT] = { "VIRTQ_ESHORT", "chain shorter than the header or announced length" },
	[VIRTQ_EFORMAT] = { "VIRTQ_EFORMAT", "malformed encoded data" },
	[VIRTQ_EVERSION] = { "VIRTQ_EVERSION", "unsupported format version" },
	[VIRTQ_EBADSTATE] = { "VIRTQ_EBADSTATE", "saved state or in-flight area inconsistent" },
	[VIRTQ_EACCES] = { "VIRTQ_EACCES", "guest memory access against the region's permissions" },
	[VIRTQ_EAGAIN] = { "VIRTQ_EAGAIN", "IOMMU translation missing; resolve it and retry" },
	[VIRTQ_ENOTSUP] = { "VIRTQ_ENOTSUP", "negotiated feature not supported, or VERSION_1 missing" },
};

static const struct error_text *error_lookup(int err)
{
	unsigned code = err < 0 ? 0u - (unsigned)err : (unsigned)err;
	return code < VIRTQ_ERROR_COUNT ? &error_texts[code] : NULL;
}

const char *virtq_strerror(int err)
{
	const struct error_text *e = error_lookup(err);
	return e ? e->text : "unknown error";
}

const char *virtq_errname(int err)
{
	const struct error_text *e = error_lookup(err);
	return e ? e->name : "VIRTQ_E?";
}
