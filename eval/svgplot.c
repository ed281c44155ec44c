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

char *sem_svg_plot(const sem_plot_series *ser, size_t ns, const sem_plot_opts *opts)
{
    sem_plot_opts o = opts ? *opts : sem_plot_default_opts();
    if (o.width < 200)
        o.width = 800;
    if (o.height < 150)
        o.height = 560;
    /* data range */
    double x0 = INFINITY, x1 = -INFINITY, y0 = INFINITY, y1 = -INFINITY;
    size_t maxn = 0;
    for (size_t s = 0; s < ns; s++) {
        if (ser[s].n > maxn)
            maxn = ser[s].n;
        for (size_t i = 0; i < ser[s].n; i++) {
            double x = ser[s].x[i], y = ser[s].y[i];
            if (!usable(&o, x, y))
                continue;
            x0 = fmin(x0, x);
            x1 = fmax(x1, x);
            y0 = fmin(y0, y);
            y1 = fmax(y1, y);
        }
    }
    if (isfinite(o.xmin))
        x0 = o.xmin;
    if (isfinite(o.xmax))
        x1 = o.xmax;
    if (!isfinite(x0) || !isfinite(x1)) {
        x0 = 0;
        x1 = 1;
    }
    if (!isfinite(y0) || !isfinite(y1)) {
        y0 = 1;
        y1 = o.ylog ? 10 : 1;
    }
    if (x1 <= x0) { /* one x value: a small window around it, not past a fixed end */
        double c = x0, h = 0.05 * fmax(1e-9, fabs(c));
        x0 = c - h;
        x1 = isfinite(o.xmax) && o.xmax >= c ? o.xmax : c + h;
        if (x1 <= x0)
            x1 = x0 + h;
    }
    /* x: pad 3 % (not past a fixed end) and snap to the tick grid */
    double xs = nice_step(x1 - x0, 8);
    double pad = 0.03 * (x1 - x0);
    x0 = floor((isfinite(o.xmin) ? x0 : x0 - pad) / xs + 1e-9) * xs;
    x1 = ceil((isfinite(o.xmax) ? x1 : x1 + pad) / xs - 1e-9) * xs;
    double ly0, ly1; /* y axis in plot units (log10 when ylog) */
    if (o.ylog) {
        ly0 = floor(log10(y0));
        ly1 = ceil(log10(y1));
        if (ly1 <= ly0)
            ly1 = ly0 + 1;
    } else {
        if (y1 <= y0) {
            y0 -= 0.5;
            y1 += 0.5;
        }
        double ys = nice_step(y1 - y0, 6);
        ly0 = floor(y0 / ys) * ys;
        ly1 = ceil(y1 / ys) * ys;
    }
    const double L = 90, R = 230, T = 50, B = 70; /* margins; the legend sits at the right */
    double pw = o.width - L - R, ph = o.height - T - B;
#define PX(x) (L + ((x) - x0) / (x1 - x0) * pw)
#define PY(v) (T + ph - (((o.ylog ? log10(v) : (v)) - ly0) / (ly1 - ly0)) * ph)

    sem_strbuf b = {0};
    sem_strbuf_printf(&b,
                      "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
                      "<svg xmlns=\"http://www.w3.org/2000/svg\" version=\"1.1\" width=\"%d\" height=\"%d\" "
                      "viewBox=\"0 0 %d %d\" font-family=\"Helvetica, Arial, sans-serif\" font-size=\"12\">\n"
                      "<rect x=\"0\" y=\"0\" width=\"%d\" height=\"%d\" fill=\"white\"/>\n",
                      o.width, o.height, o.width, o.height, o.width, o.height);
    if (o.title) {
        sem_strbuf_printf(&b, "<text x=\"%.1f\" y=\"28\" text-anchor=\"middle\" font-size=\"15\">", L + pw / 2);
        sem_strbuf_xml_escaped(&b, o.title);
        sem_strbuf_printf(&b, "</text>\n");
    }
    /* grid and ticks */
    sem_strbuf_printf(&b, "<g stroke=\"#dddddd\" stroke-width=\"1\">\n");
    for (double x = x0; x <= x1 + xs * 1e-6; x += xs)
        sem_strbuf_printf(&b, "<line x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" y2=\"%.1f\"/>\n", PX(x), T, PX(x), T + ph);
    if (o.ylog) {
        for (double e = ly0; e <= ly1 + 1e-9; e += 1)
            for (int m = 1; m <= 9; m++) {
                double v = pow(10, e) * m;
                if (log10(v) > ly1 + 1e-9)
                    break;
                sem_strbuf_printf(&b, "<line x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" y2=\"%.1f\"%s/>\n", L, PY(v),
                                  L + pw, PY(v), m == 1 ? " stroke=\"#bbbbbb\"" : "");
            }
    } else {
        double ys = nice_step(ly1 - ly0, 6);
        for (double v = ly0; v <= ly1 + ys * 1e-6; v += ys)
            sem_strbuf_printf(&b, "<line x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" y2=\"%.1f\"/>\n", L, PY(v), L + pw, PY(v));
    }
    sem_strbuf_printf(&b, "</g>\n");
    sem_strbuf_printf(&b,
                      "<rect x=\"%.1f\" y=\"%.1f\" width=\"%.1f\" height=\"%.1f\" fill=\"none\" stroke=\"black\"/>\n",
                      L, T, pw, ph);
    /* tick labels */
    sem_strbuf_printf(&b, "<g text-anchor=\"middle\">\n");
    int xdec = xs >= 1 ? 0 : (int)ceil(-log10(xs) - 1e-9);
    for (double x = x0; x <= x1 + xs * 1e-6; x += xs)
        sem_strbuf_printf(&b, "<text x=\"%.1f\" y=\"%.1f\">%.*f</text>\n", PX(x), T + ph + 18, xdec, x);
    sem_strbuf_printf(&b, "</g>\n<g text-anchor=\"end\">\n");
    if (o.ylog) {
        for (double e = ly0; e <= ly1 + 1e-9; e += 1) {
            double v = pow(10, e);
            if (fabs(e) < 7)
                sem_strbuf_printf(&b, "<text x=\"%.1f\" y=\"%.1f\">%.*f</text>\n", L - 6, PY(v) + 4,
                                  e < 0 ? (int)-e : 0, v);
            else
                sem_strbuf_printf(&b, "<text x=\"%.1f\" y=\"%.1f\">1e%d</text>\n", L - 6, PY(v) + 4, (int)e);
        }
    } else {
        double ys = nice_step(ly1 - ly0, 6);
        int ydec = ys >= 1 ? 0 : (int)ceil(-log10(ys) - 1e-9);
        for (double v = ly0; v <= ly1 + ys * 1e-6; v += ys)
            sem_strbuf_printf(&b, "<text x=\"%.1f\" y=\"%.1f\">%.*f</text>\n", L - 6, PY(v) + 4, ydec, v);
    }
    sem_strbuf_printf(&b, "</g>\n");
    if (o.xlabel) {
        sem_strbuf_printf(&b, "<text x=\"%.1f\" y=\"%.1f\" text-anchor=\"middle\" font-size=\"13\">", L + pw / 2,
                          (double)o.height - 22);
        sem_strbuf_xml_escaped(&b, o.xlabel);
        sem_strbuf_printf(&b, "</text>\n");
    }
    if (o.ylabel) {
        sem_strbuf_printf(&b,
                          "<text transform=\"translate(24,%.1f) rotate(-90)\" text-anchor=\"middle\" font-size=\"13\">",
                          T + ph / 2);
        sem_strbuf_xml_escaped(&b, o.ylabel);
        sem_strbuf_printf(&b, "</text>\n");
    }
    /* series, clipped to the plot area */
    /* (the clip area leaves room for half a marker past the frame, so points at recall 1.0 stay whole) */
    sem_strbuf_printf(&b,
                      "<clipPath id=\"plotarea\"><rect x=\"%.1f\" y=\"%.1f\" width=\"%.1f\" height=\"%.1f\"/>"
                      "</clipPath>\n",
                      L - 5, T - 5, pw + 10, ph + 10);
    struct pt *pts = malloc(sizeof *pts * (maxn ? maxn : 1));
    if (!pts)
        b.oom = 1;
    for (size_t s = 0; s < ns && pts; s++) {
        const char *col = palette[s % (sizeof palette / sizeof *palette)];
        size_t m = 0;
        for (size_t i = 0; i < ser[s].n; i++)
            if (usable(&o, ser[s].x[i], ser[s].y[i]))
                pts[m++] = (struct pt){ser[s].x[i], ser[s].y[i]};
        qsort(pts, m, sizeof *pts, cmp_pt);
        sem_strbuf_printf(&b, "<g clip-path=\"url(#plotarea)\" stroke=\"%s\" fill=\"%s\">\n", col, col);
        if (m > 1) {
            sem_strbuf_printf(&b, "<polyline fill=\"none\" stroke-width=\"2\" points=\"");
            for (size_t i = 0; i < m; i++)
                sem_strbuf_printf(&b, "%s%.1f,%.1f", i ? " " : "", PX(pts[i].x), PY(pts[i].y));
            sem_strbuf_printf(&b, "\"/>\n");
        }
        for (size_t i = 0; i < m; i++)
            sem_strbuf_printf(&b, "<circle cx=\"%.1f\" cy=\"%.1f\" r=\"3.5\"/>\n", PX(pts[i].x), PY(pts[i].y));
        sem_strbuf_printf(&b, "</g>\n");
        /* legend entry */
        double ly = T + 10 + 22 * (double)s;
        sem_strbuf_printf(&b,
                          "<line x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" y2=\"%.1f\" stroke=\"%s\" stroke-width=\"2\"/>"
                          "<circle cx=\"%.1f\" cy=\"%.1f\" r=\"3.5\" fill=\"%s\"/>\n",
                          L + pw + 15, ly, L + pw + 45, ly, col, L + pw + 30, ly, col);
        sem_strbuf_printf(&b, "<text x=\"%.1f\" y=\"%.1f\">", L + pw + 52, ly + 4);
        sem_strbuf_xml_escaped(&b, ser[s].name ? ser[s].name : "");
        sem_strbuf_printf(&b, "</text>\n");
    }
    free(pts);
    sem_strbuf_printf(&b, "</svg>\n");
#undef PX
#undef PY
    return sem_strbuf_finish(&b);
}
