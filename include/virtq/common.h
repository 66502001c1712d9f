/* SPDX-License-Identifier: MIT */
/*
 * virtq common definitions: symbol export, error codes, virtq_strerror().
 *
 * Every virtq function that can fail returns a negative error code:
 * `-VIRTQ_EBADIDX`, never a positive one. Zero or a positive count means
 * success. Error values never collide with a valid count.
 */
#ifndef VIRTQ_COMMON_H
#define VIRTQ_COMMON_H

#if defined(_WIN32)
#  define VIRTQ_API
#elif defined(__GNUC__) || defined(__clang__)
#  define VIRTQ_API __attribute__((visibility("default")))
#else
#  define VIRTQ_API
#endif

#ifdef __cplusplus
extern "C" {
#endif

/*
 * Error codes. Functions return them negated. Codes marked "fatal" latch the
 * queue as broken: every later call on that queue returns -VIRTQ_EBROKEN
 * until virtq_reset().
 */
enum virtq_error {
	VIRTQ_OK = 0,
	VIRTQ_EINVAL = 1,    /* bad argument from the VMM, or call in the wrong state (e.g.
			      * completing a chain that is not in flight) */
	VIRTQ_ENOTREADY = 2, /* queue not activated */
	VIRTQ_EBADADDR = 3,  /* guest address range not inside guest memory (fatal in pop) */
	VIRTQ_EBADIDX = 4,   /* avail idx too far ahead, head or next index >= size, head
			      * already in flight (fatal) */
	VIRTQ_EBADDESC = 5,  /* malformed descriptor: indirect rules, readable after writable (fatal) */
	VIRTQ_ELOOP = 6,     /* descriptor chain longer than allowed (fatal) */
	VIRTQ_EOVERFLOW = 7, /* arithmetic overflow on guest values; chain total > 2^32-1 (fatal in pop) */
	VIRTQ_ENOSPC = 8,    /* caller's segment array or buffer too small; nothing consumed */
	VIRTQ_EBROKEN = 9,   /* queue latched broken after a fatal guest error */
	VIRTQ_EBUSY = 10,    /* as many chains in flight as the queue size */
	VIRTQ_EMSGSIZE = 11, /* vsock packet larger than the caller's maximum */
	VIRTQ_ESHORT = 12,   /* chain too short for the header or the announced length */
	VIRTQ_EFORMAT = 13,  /* encoded state: bad magic, length, reserved bits or values */
	VIRTQ_EVERSION = 14, /* encoded state: version newer than this library understands */
	VIRTQ_EBADSTATE = 15, /* saved state or in-flight area inconsistent (with itself,
			       * the rings, or the indices to resume at) */
	VIRTQ_EACCES = 16,   /* guest memory used against its region's permissions: a writable
			      * buffer or the used ring in read-only memory, a readable buffer,
			      * table or ring in write-only memory (fatal in pop) */
	VIRTQ_EAGAIN = 17,   /* IOMMU translation missing: nothing consumed, resolve it and
			      * call again (not fatal) */
	VIRTQ_ENOTSUP = 18   /* negotiated feature virtq does not implement, or VERSION_1
			      * missing (activation refused) */
};

/* Number of error codes including VIRTQ_OK; for table-driven tests. */
#define VIRTQ_ERROR_COUNT 19

/*
 * Human-readable description of an error code. Accepts the code with either
 * sign. Never returns NULL; unknown codes give "unknown error".
 */
VIRTQ_API const char *virtq_strerror(int err);

/* Short symbolic name ("VIRTQ_EBADIDX") of an error code, either sign. */
VIRTQ_API const char *virtq_errname(int err);

#ifdef __cplusplus
}
#endif

#endif /* VIRTQ_COMMON_H */
