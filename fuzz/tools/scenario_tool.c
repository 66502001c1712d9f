/* SPDX-License-Identifier: MIT */
/*
 * virtq-scenario: fuzz inputs as readable scenarios, and back.
 *
 *   virtq-scenario print FILE...      show binary inputs (crashes, corpus) as text
 *   virtq-scenario build IN.scn OUT   write the binary input for a text scenario
 *                                     (IN may be "-" for standard input)
 */
#define _POSIX_C_SOURCE 200809L
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "harness/scenario.h"
#include "harness/scenario_text.h"

static unsigned char *slurp(const char *path, size_t *len)
{
	FILE *f = strcmp(path, "-") ? fopen(path, "rb") : stdin;
	size_t cap = 4096, n;
	unsigned char *buf = malloc(cap + 1);
	if (!f || !buf) {
		perror(path);
		exit(1);
	}
	*len = 0;
	while ((n = fread(buf + *len, 1, cap - *len, f)) > 0) {
		*len += n;
		if (*len == cap && !(buf = realloc(buf, (cap *= 2) + 1))) {
			perror("realloc");
			exit(1);
		}
	}
	if (f != stdin)
		fclose(f);
	buf[*len] = '\0';
	return buf;
}

static int print_files(int argc, char **argv)
{
	static struct scenario s;
	for (int i = 0; i < argc; i++) {
		size_t len;
		unsigned char *data = slurp(argv[i], &len);
		scenario_decode(&s, data, len);
		if (argc > 1)
			printf("### %s\n", argv[i]);
		scenario_print(stdout, &s);
		free(data);
	}
	return 0;
}

static int build(const char *in, const char *out)
{
	static struct scenario s;
	static unsigned char bytes[SCN_MAX_BYTES];
	char err[256];
	size_t len;
	char *text = (char *)slurp(in, &len);
	if (scenario_parse(&s, text, err, sizeof(err))) {
		fprintf(stderr, "%s: %s\n", in, err);
		return 1;
	}
	free(text);
	size_t n = scenario_encode(&s, bytes, sizeof(bytes));
	FILE *f = fopen(out, "wb");
	if (!f || fwrite(bytes, 1, n, f) != n || fclose(f)) {
		perror(out);
		return 1;
	}
	return 0;
}

int main(int argc, char **argv)
{
	if (argc >= 3 && !strcmp(argv[1], "print"))
		return print_files(argc - 2, argv + 2);
	if (argc == 4 && !strcmp(argv[1], "build"))
		return build(argv[2], argv[3]);
	fprintf(stderr, "usage: %s print FILE... | build IN.scn OUT\n", argv[0]);
	return 2;
}
