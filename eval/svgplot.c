/* eval/svgplot.c: SVG line plots (see svgplot.h). */
#include "eval/svgplot.h"

#include "common/strbuf.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

sem_plot_opts sem_plot_default_opts(void)
{
    sem_plot_opts o = {0};
    o.xmin = o.xmax = NAN;
    o.width = 800;
    o.height = 560;
    return o;
}

/* A "nice" step (1, 2 or 5 times a power of ten) giving about `want` ticks over span. */
static double nice_step(double span, int want)
{
    double raw = span / want, p = pow(10, floor(log10(raw))), f = raw / p;
    return (f < 1.5 ? 1 : f < 3.5 ? 2 : f < 7.5 ? 5 : 10) * p;
}

static const char *palette[] = {"#1f77b4", "#d62728", "#2ca02c", "#ff7f0e", "#9467bd",
                                "#8c564b", "#e377c2", "#17becf", "#bcbd22", "#7f7f7f"};

static int usable(const sem_plot_opts *o, double x, double y)
{
    return isfinite(x) && isfinite(y) && (!o->ylog || y > 0);
}

struct pt {
    double x, y;
};

static int cmp_pt(const void *a, const void *b)
{
    const struct pt *p = a, *q = b;
    return p->x < q->x ? -1 : p->x > q->x ? 1 : (p->y < q->y ? -1 : p->y > q->y);
}

/* The plot area and its axes: data x in [x0, x1] (ticks every xs), y in [ly0, ly1] in plot units (log10 when
 * ylog); margins L, T, the area pw x ph pixels. */
typedef struct frame {
    sem_plot_opts o;
    double x0, x1, xs, ly0, ly1, L, T, pw, ph;
    size_t maxn; /* the longest series */
} frame;

static double px(const frame *f, double x)
{
    return f->L + (x - f->x0) / (f->x1 - f->x0) * f->pw;
}

static double py(const frame *f, double v)
{
    return f->T + f->ph - (((f->o.ylog ? log10(v) : v) - f->ly0) / (f->ly1 - f->ly0)) * f->ph;
}

/* The x range of the data (or fixed by the options) padded and snapped to the tick grid; *y0, *y1 the y range. */
static void x_range(frame *f, const sem_plot_series *ser, size_t ns, double *y0, double *y1)
{
    const sem_plot_opts *o = &f->o;
    double x0 = INFINITY, x1 = -INFINITY;
    *y0 = INFINITY;
    *y1 = -INFINITY;
    for (size_t s = 0; s < ns; s++) {
        if (ser[s].n > f->maxn)
            f->maxn = ser[s].n;
        for (size_t i = 0; i < ser[s].n; i++) {
            double x = ser[s].x[i], y = ser[s].y[i];
            if (!usable(o, x, y))
                continue;
            x0 = fmin(x0, x);
            x1 = fmax(x1, x);
            *y0 = fmin(*y0, y);
            *y1 = fmax(*y1, y);
        }
    }
    if (isfinite(o->xmin))
        x0 = o->xmin;
    if (isfinite(o->xmax))
        x1 = o->xmax;
    if (!isfinite(x0) || !isfinite(x1)) {
        x0 = 0;
        x1 = 1;
    }
    if (x1 <= x0) { /* one x value: a small window around it, not past a fixed end */
        double c = x0, h = 0.05 * fmax(1e-9, fabs(c));
        x0 = c - h;
        x1 = isfinite(o->xmax) && o->xmax >= c ? o->xmax : c + h;
        if (x1 <= x0)
            x1 = x0 + h;
    }
    /* pad 3 % (not past a fixed end) and snap to the tick grid */
    f->xs = nice_step(x1 - x0, 8);
    double pad = 0.03 * (x1 - x0);
    f->x0 = floor((isfinite(o->xmin) ? x0 : x0 - pad) / f->xs + 1e-9) * f->xs;
    f->x1 = ceil((isfinite(o->xmax) ? x1 : x1 + pad) / f->xs - 1e-9) * f->xs;
}

/* The frame of the plot: ranges of the data, the axes in plot units, the plot area. */
static void make_frame(frame *f, const sem_plot_series *ser, size_t ns)
{
    double y0, y1;
    x_range(f, ser, ns, &y0, &y1);
    if (!isfinite(y0) || !isfinite(y1)) {
        y0 = 1;
        y1 = f->o.ylog ? 10 : 1;
    }
    if (f->o.ylog) {
        f->ly0 = floor(log10(y0));
        f->ly1 = ceil(log10(y1));
        if (f->ly1 <= f->ly0)
            f->ly1 = f->ly0 + 1;
    } else {
        if (y1 <= y0) {
            y0 -= 0.5;
            y1 += 0.5;
        }
        double ys = nice_step(y1 - y0, 6);
        f->ly0 = floor(y0 / ys) * ys;
        f->ly1 = ceil(y1 / ys) * ys;
    }
    const double R = 230, B = 70; /* margins; the legend sits at the right */
    f->L = 90;
    f->T = 50;
    f->pw = f->o.width - f->L - R;
    f->ph = f->o.height - f->T - B;
}

/* A text element at (x, y) with extra attributes, its content escaped. */
static void text_at(sem_strbuf *b, const char *attrs, const char *text)
{
    sem_strbuf_printf(b, "<text %s>", attrs);
    sem_strbuf_xml_escaped(b, text);
    sem_strbuf_printf(b, "</text>\n");
}

/* The grid lines and the frame. */
static void grid(sem_strbuf *b, const frame *f)
{
    sem_strbuf_printf(b, "<g stroke=\"#dddddd\" stroke-width=\"1\">\n");
    for (double x = f->x0; x <= f->x1 + f->xs * 1e-6; x += f->xs)
        sem_strbuf_printf(b, "<line x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" y2=\"%.1f\"/>\n", px(f, x), f->T, px(f, x),
                          f->T + f->ph);
    if (f->o.ylog) {
        for (double e = f->ly0; e <= f->ly1 + 1e-9; e += 1)
            for (int m = 1; m <= 9; m++) {
                double v = pow(10, e) * m;
                if (log10(v) > f->ly1 + 1e-9)
                    break;
                sem_strbuf_printf(b, "<line x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" y2=\"%.1f\"%s/>\n", f->L, py(f, v),
                                  f->L + f->pw, py(f, v), m == 1 ? " stroke=\"#bbbbbb\"" : "");
            }
    } else {
        double ys = nice_step(f->ly1 - f->ly0, 6);
        for (double v = f->ly0; v <= f->ly1 + ys * 1e-6; v += ys)
            sem_strbuf_printf(b, "<line x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" y2=\"%.1f\"/>\n", f->L, py(f, v),
                              f->L + f->pw, py(f, v));
    }
    sem_strbuf_printf(b, "</g>\n");
    sem_strbuf_printf(b, "<rect x=\"%.1f\" y=\"%.1f\" width=\"%.1f\" height=\"%.1f\" fill=\"none\" stroke=\"black\"/>\n",
                      f->L, f->T, f->pw, f->ph);
}

/* The tick labels of both axes and the axis labels. */
static void tick_labels(sem_strbuf *b, const frame *f)
{
    sem_strbuf_printf(b, "<g text-anchor=\"middle\">\n");
    int xdec = f->xs >= 1 ? 0 : (int)ceil(-log10(f->xs) - 1e-9);
    for (double x = f->x0; x <= f->x1 + f->xs * 1e-6; x += f->xs)
        sem_strbuf_printf(b, "<text x=\"%.1f\" y=\"%.1f\">%.*f</text>\n", px(f, x), f->T + f->ph + 18, xdec, x);
    sem_strbuf_printf(b, "</g>\n<g text-anchor=\"end\">\n");
    if (f->o.ylog) {
        for (double e = f->ly0; e <= f->ly1 + 1e-9; e += 1) {
            double v = pow(10, e);
            if (fabs(e) < 7)
                sem_strbuf_printf(b, "<text x=\"%.1f\" y=\"%.1f\">%.*f</text>\n", f->L - 6, py(f, v) + 4,
                                  e < 0 ? (int)-e : 0, v);
            else
                sem_strbuf_printf(b, "<text x=\"%.1f\" y=\"%.1f\">1e%d</text>\n", f->L - 6, py(f, v) + 4, (int)e);
        }
    } else {
        double ys = nice_step(f->ly1 - f->ly0, 6);
        int ydec = ys >= 1 ? 0 : (int)ceil(-log10(ys) - 1e-9);
        for (double v = f->ly0; v <= f->ly1 + ys * 1e-6; v += ys)
            sem_strbuf_printf(b, "<text x=\"%.1f\" y=\"%.1f\">%.*f</text>\n", f->L - 6, py(f, v) + 4, ydec, v);
    }
    sem_strbuf_printf(b, "</g>\n");
    char attrs[128];
    if (f->o.xlabel) {
        snprintf(attrs, sizeof attrs, "x=\"%.1f\" y=\"%.1f\" text-anchor=\"middle\" font-size=\"13\"",
                 f->L + f->pw / 2, (double)f->o.height - 22);
        text_at(b, attrs, f->o.xlabel);
    }
    if (f->o.ylabel) {
        snprintf(attrs, sizeof attrs, "transform=\"translate(24,%.1f) rotate(-90)\" text-anchor=\"middle\" "
                 "font-size=\"13\"", f->T + f->ph / 2);
        text_at(b, attrs, f->o.ylabel);
    }
}

/* Series s: its usable points (pts: scratch of maxn) sorted by x as a line with markers, and its legend entry. */
static void series(sem_strbuf *b, const frame *f, const sem_plot_series *ser, size_t s, struct pt *pts)
{
    const char *col = palette[s % (sizeof palette / sizeof *palette)];
    size_t m = 0;
    for (size_t i = 0; i < ser->n; i++)
        if (usable(&f->o, ser->x[i], ser->y[i]))
            pts[m++] = (struct pt){ser->x[i], ser->y[i]};
    qsort(pts, m, sizeof *pts, cmp_pt);
    sem_strbuf_printf(b, "<g clip-path=\"url(#plotarea)\" stroke=\"%s\" fill=\"%s\">\n", col, col);
    if (m > 1) {
        sem_strbuf_printf(b, "<polyline fill=\"none\" stroke-width=\"2\" points=\"");
        for (size_t i = 0; i < m; i++)
            sem_strbuf_printf(b, "%s%.1f,%.1f", i ? " " : "", px(f, pts[i].x), py(f, pts[i].y));
        sem_strbuf_printf(b, "\"/>\n");
    }
    for (size_t i = 0; i < m; i++)
        sem_strbuf_printf(b, "<circle cx=\"%.1f\" cy=\"%.1f\" r=\"3.5\"/>\n", px(f, pts[i].x), py(f, pts[i].y));
    sem_strbuf_printf(b, "</g>\n");
    double ly = f->T + 10 + 22 * (double)s, lx = f->L + f->pw;
    sem_strbuf_printf(b,
                      "<line x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" y2=\"%.1f\" stroke=\"%s\" stroke-width=\"2\"/>"
                      "<circle cx=\"%.1f\" cy=\"%.1f\" r=\"3.5\" fill=\"%s\"/>\n",
                      lx + 15, ly, lx + 45, ly, col, lx + 30, ly, col);
    char attrs[64];
    snprintf(attrs, sizeof attrs, "x=\"%.1f\" y=\"%.1f\"", lx + 52, ly + 4);
    text_at(b, attrs, ser->name ? ser->name : "");
}

char *sem_svg_plot(const sem_plot_series *ser, size_t ns, const sem_plot_opts *opts)
{
    frame f = {.o = opts ? *opts : sem_plot_default_opts()};
    if (f.o.width < 200)
        f.o.width = 800;
    if (f.o.height < 150)
        f.o.height = 560;
    make_frame(&f, ser, ns);
    sem_strbuf b = {0};
    sem_strbuf_printf(&b,
                      "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
                      "<svg xmlns=\"http://www.w3.org/2000/svg\" version=\"1.1\" width=\"%d\" height=\"%d\" "
                      "viewBox=\"0 0 %d %d\" font-family=\"Helvetica, Arial, sans-serif\" font-size=\"12\">\n"
                      "<rect x=\"0\" y=\"0\" width=\"%d\" height=\"%d\" fill=\"white\"/>\n",
                      f.o.width, f.o.height, f.o.width, f.o.height, f.o.width, f.o.height);
    if (f.o.title) {
        char attrs[96];
        snprintf(attrs, sizeof attrs, "x=\"%.1f\" y=\"28\" text-anchor=\"middle\" font-size=\"15\"", f.L + f.pw / 2);
        text_at(&b, attrs, f.o.title);
    }
    grid(&b, &f);
    tick_labels(&b, &f);
    /* series, clipped to the plot area, which leaves room for half a marker past the frame (points at recall
     * 1.0 stay whole) */
    sem_strbuf_printf(&b,
                      "<clipPath id=\"plotarea\"><rect x=\"%.1f\" y=\"%.1f\" width=\"%.1f\" height=\"%.1f\"/>"
                      "</clipPath>\n",
                      f.L - 5, f.T - 5, f.pw + 10, f.ph + 10);
    struct pt *pts = malloc(sizeof *pts * (f.maxn ? f.maxn : 1));
    if (!pts)
        b.oom = 1;
    for (size_t s = 0; s < ns && pts; s++)
        series(&b, &f, &ser[s], s, pts);
    free(pts);
    sem_strbuf_printf(&b, "</svg>\n");
    return sem_strbuf_finish(&b);
}
