/* A one-line progress display on standard error, shown only on a terminal and without
 * --quiet, redrawn at most ten times a second and erased when the work ends. */
#ifndef SILKIE_CLI_PROGRESS_H
#define SILKIE_CLI_PROGRESS_H

#include <stdint.h>

#include "silkie/silkie.h"

typedef struct silkie_cli_progress {
    int on;           /* standard error is a terminal and not quiet */
    int shown;        /* a line is on screen */
    uint64_t last_ns; /* last redraw */
} silkie_cli_progress;

void silkie_cli_progress_init(silkie_cli_progress *p, int quiet);
/* Draws "STAGE  DONE/TOTAL UNIT (PCT%)"; matches silkie_progress_fn with user = p. */
void silkie_cli_progress_update(const char *stage, uint64_t done, uint64_t total, void *user);
/* Erases the line. */
void silkie_cli_progress_done(silkie_cli_progress *p);
/* Points the model's progress callback (load, image encode, long prefill) at p. */
void silkie_cli_progress_attach(silkie_cli_progress *p, silkie_model_params *mp);

#endif
