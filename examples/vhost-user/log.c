/* SPDX-License-Identifier: MIT */
/* The logging settings (see log.h). */
#include "log.h"

bool log_verbose;
const char *log_name = "virtq";
