/* SPDX-License-Identifier: MIT */
/*
 * blk_tool: the e2e guest's disk tool (static, runs in the initramfs), also
 * run on the host against the image file to check what reached it.
 *
 *   blk_tool write  DEV START_MIB MIB SEED   pattern in 64 KiB direct writes
 *   blk_tool verify DEV START_MIB MIB SEED   read back, compare, checksum
 *   blk_tool bench  DEV START_MIB MIB SECONDS
 *       1 MiB sequential writes and reads over MIB, then 4 KiB random writes
 *       and reads for SECONDS each, all direct I/O at queue depth 1
 *
 * Output, one line each: "write bytes=N sum=S ok", "verify bytes=N sum=S ok"
 * (or "bad at OFFSET"), "bench seqwrite mibps=X" ... "bench randread iops=X".
 * The pattern of byte offset o under seed s is a function of (o / 8, s), so a
 * block written to the wrong place or twice from the wrong data shows.
 * O_DIRECT where the file system has it (a guest disk), buffered otherwise
 * (the host's image in tmpfs). Exit 0 when ok, 1 otherwise.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#define MIB (1024u * 1024u)
#define CHUNK (64u * 1024u)

static uint64_t word_of(uint64_t off, uint64_t seed)
{
	uint64_t x = (off / 8) * 0x9e3779b97f4a7c15ull ^ seed * 0xbf58476d1ce4e5b9ull;
	x ^= x >> 31;
	x *= 0x94d049bb133111ebull;
	return x ^ (x >> 29);
}

static void fill(unsigned char *buf, size_t len, uint64_t off, uint64_t seed)
{
	for (size_t i = 0; i < len; i += 8) {
		uint64_t w = word_of(off + i, seed);
		memcpy(buf + i, &w, 8);
	}
}

/* FNV-1a over 8-byte words: the checksum both sides print. */
static uint64_t sum_of(uint64_t sum, const unsigned char *buf, size_t len)
{
	for (size_t i = 0; i < len; i += 8) {
		uint64_t w;
		memcpy(&w, buf + i, 8);
		sum = (sum ^ w) * 0x100000001b3ull;
	}
	return sum;
}

static int open_dev(const char *path, int flags)
{
	int fd = open(path, flags | O_DIRECT | O_CLOEXEC);
	if (fd < 0 && errno == EINVAL)
		fd = open(path, flags | O_CLOEXEC);
	if (fd < 0)
		fprintf(stderr, "%s: %s\n", path, strerror(errno));
	return fd;
}

static double now(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static int io_all(int fd, unsigned char *buf, size_t len, uint64_t off, int write)
{
	ssize_t n = write ? pwrite(fd, buf, len, (off_t)off) : pread(fd, buf, len, (off_t)off);
	if (n != (ssize_t)len) {
		fprintf(stderr, "%s at %llu: %s\n", write ? "write" : "read",
			(unsigned long long)off, n < 0 ? strerror(errno) : "short");
		return -1;
	}
	return 0;
}

static int pattern(const char *dev, uint64_t start, uint64_t len, uint64_t seed, int write)
{
	int fd = open_dev(dev, write ? O_RDWR : O_RDONLY);
	unsigned char *buf = aligned_alloc(4096, CHUNK), *want = aligned_alloc(4096, CHUNK);
	if (fd < 0 || !buf || !want)
		return 1;
	uint64_t sum = 0xcbf29ce484222325ull;
	for (uint64_t off = start; off < start + len; off += CHUNK) {
		fill(want, CHUNK, off, seed);
		if (write) {
			memcpy(buf, want, CHUNK);
			if (io_all(fd, buf, CHUNK, off, 1))
				return 1;
		} else {
			if (io_all(fd, buf, CHUNK, off, 0))
				return 1;
			if (memcmp(buf, want, CHUNK)) {
				size_t i = 0;
				while (buf[i] == want[i])
					i++;
				printf("verify bytes=%llu bad at %llu\n", (unsigned long long)len,
				       (unsigned long long)(off + i));
				return 1;
			}
		}
		sum = sum_of(sum, buf, CHUNK);
	}
	if (write && fdatasync(fd) < 0) {
		fprintf(stderr, "fdatasync: %s\n", strerror(errno));
		return 1;
	}
	printf("%s bytes=%llu sum=%016llx ok\n", write ? "write" : "verify",
	       (unsigned long long)len, (unsigned long long)sum);
	close(fd);
	return 0;
}

static uint64_t next_random(uint64_t *s)
{
	*s ^= *s << 13;
	*s ^= *s >> 7;
	*s ^= *s << 17;
	return *s;
}

static int bench(const char *dev, uint64_t start, uint64_t len, double seconds)
{
	int fd = open_dev(dev, O_RDWR);
	unsigned char *buf = aligned_alloc(4096, MIB);
	if (fd < 0 || !buf)
		return 1;
	fill(buf, MIB, 0, 7);
	for (int write = 1; write >= 0; write--) {
		double t0 = now();
		for (uint64_t off = start; off < start + len; off += MIB)
			if (io_all(fd, buf, MIB, off, write))
				return 1;
		if (write)
			(void)fdatasync(fd);
		printf("bench seq%s mibps=%.1f\n", write ? "write" : "read",
		       (double)len / MIB / (now() - t0));
	}
	uint64_t rng = 88172645463325252ull, blocks = len / 4096;
	for (int write = 1; write >= 0; write--) {
		double t0 = now(), t;
		unsigned long n = 0;
		do {
			uint64_t off = start + next_random(&rng) % blocks * 4096;
			if (io_all(fd, buf, 4096, off, write))
				return 1;
			n++;
		} while ((t = now() - t0) < seconds);
		printf("bench rand%s iops=%.0f\n", write ? "write" : "read", (double)n / t);
	}
	close(fd);
	return 0;
}

int main(int argc, char **argv)
{
	setvbuf(stdout, 0, _IOLBF, 0);
	if (argc != 6) {
		fprintf(stderr, "usage: blk_tool write|verify|bench DEV START_MIB MIB SEED|SECONDS\n");
		return 2;
	}
	uint64_t start = strtoull(argv[3], 0, 10) * MIB, len = strtoull(argv[4], 0, 10) * MIB;
	uint64_t arg = strtoull(argv[5], 0, 10);
	if (!strcmp(argv[1], "write"))
		return pattern(argv[2], start, len, arg, 1);
	if (!strcmp(argv[1], "verify"))
		return pattern(argv[2], start, len, arg, 0);
	if (!strcmp(argv[1], "bench"))
		return bench(argv[2], start, len, (double)arg);
	fprintf(stderr, "blk_tool: unknown command %s\n", argv[1]);
	return 2;
}
