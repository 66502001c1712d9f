/* SPDX-License-Identifier: MIT */
/* The readable text form of scenarios (see scenario_text.c for the syntax). */
#ifndef FUZZ_SCENARIO_TEXT_H
#define FUZZ_SCENARIO_TEXT_H

#include <stdio.h>

#include "scenario.h"

/* Writes s as text; parsing the output gives s back (opcode bytes canonical). */
void scenario_print(FILE *out, const struct scenario *s);

/* Parses text; 0, or -1 with a message "line N: ..." in err. */
int scenario_parse(struct scenario *s, const char *text, char *err, size_t err_len);

#endif /* FUZZ_SCENARIO_TEXT_H */
