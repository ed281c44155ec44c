/* eval/svgplot.h: a small SVG line-plot writer (our own; no external plotting tool), for the evaluation
 * reports: axes with "nice" ticks, an optional log-scale y axis, one polyline with markers per series (points
 * joined in order of x), and a legend. The output is a standalone SVG 1.1 document; text is XML-escaped.
 * Threads: reentrant. Ownership: the returned string is malloc'd for the caller. */
#ifndef SEM_EVAL_SVGPLOT_H
#define SEM_EVAL_SVGPLOT_H

#include <stddef.h>

#ifdef __cplusplus
extern "C" {
#endif

typedef struct sem_plot_series {
    const char *name;    /* legend text */
    const double *x, *y; /* n points; non-finite points (and y <= 0 on a log axis) are skipped */
    size_t n;
} sem_plot_series;

typedef struct sem_plot_opts {
    const char *title, *xlabel, *ylabel;
    int ylog;          /* 1: log10 y axis */
    double xmin, xmax; /* NaN: from the data */
    int width, height; /* pixels (default 800 x 560) */
} sem_plot_opts;
sem_plot_opts sem_plot_default_opts(void);

/* Renders the series; NULL only when out of memory. Zero series or points give an empty, labelled frame. */
char *sem_svg_plot(const sem_plot_series *series, size_t n_series, const sem_plot_opts *opts);

#ifdef __cplusplus
}
#endif
#endif
