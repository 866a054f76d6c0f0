/* Plots with gnuplot: a script (FILE.gp, data inline) written next to the
 * image and run, so a plot can be redrawn or restyled by hand. FILE ending in
 * .svg gives SVG, anything else PNG. */
#ifndef US_TOOLS_PLOT_H
#define US_TOOLS_PLOT_H

#include <stdbool.h>
#include <stddef.h>

struct plot_series {
    const char *title;
    const double *x, *y;
    size_t n;
    const char *style;        /* gnuplot "with" clause; NULL: "lines lw 2" */
};
struct plot {
    const char *path;
    const char *title, *xlabel, *ylabel;
    const struct plot_series *series;
    size_t nseries;
    const char *extra;        /* more gnuplot commands before the plot (arrows, labels), or NULL */
};
/* 0, or -1 with a one-line reason (gnuplot missing, cannot write) in err. */
int plot_write(const struct plot *p, char *err, size_t errlen);

#endif
