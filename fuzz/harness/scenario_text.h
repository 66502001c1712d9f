/* SPDX-License-Identifier: MIT */
/* The readable text form of scenarios (see scenario_text.c for the syntax). */
#ifndef FUZZ_SCENARIO_TEXT_H
#define FUZZ_SCENARIO_TEXT_H

#include <stdio.h>

#include "scenario.h"

/* Writes s as text; parsing the output gives s back (opcode bytes canonical). */
void scenario_print(FILE *out, const struct scenario *s);

/* The same, with a comment line marking the operation at index failed (a
 * failure's report names it); failed >= nops marks the checks after the last
 * operation, failed < 0 marks nothing. */
void scenario_print_marked(FILE *out, const struct scenario *s, long failed);

/* Parses text; 0, or -1 with a message "line N: ..." in err. */
int scenario_parse(struct scenario *s, const char *text, char *err, size_t err_len);

#endif /* FUZZ_SCENARIO_TEXT_H */
