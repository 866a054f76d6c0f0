/* plot.h: a gnuplot script with inline data blocks, then gnuplot on it. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include "plot.h"

static void quoted(FILE *f, const char *s)
{
    fputc('"', f);
    for (; s && *s; s++) {
        if (*s == '"' || *s == '\\')
            fputc('\\', f);
        fputc(*s, f);
    }
    fputc('"', f);
}

int plot_write(const struct plot *p, char *err, size_t errlen)
{
    char gp[1024];
    if (snprintf(gp, sizeof(gp), "%s.gp", p->path) >= (int)sizeof(gp)) {
        snprintf(err, errlen, "%s: name too long", p->path);
        return -1;
    }
    FILE *f = fopen(gp, "w");
    if (!f) {
        snprintf(err, errlen, "%s: %s", gp, strerror(errno));
        return -1;
    }
    size_t len = strlen(p->path);
    bool svg = len > 4 && !strcmp(p->path + len - 4, ".svg");
    fprintf(f, "# written by ustack; redraw with: gnuplot %s\n", gp);
    fprintf(f, "set terminal %s size 1000,560\nset output ", svg ? "svg dynamic" : "pngcairo");
    quoted(f, p->path);
    fprintf(f, "\nset title ");
    quoted(f, p->title);
    fprintf(f, "\nset xlabel ");
    quoted(f, p->xlabel);
    fprintf(f, "\nset ylabel ");
    quoted(f, p->ylabel);
    fprintf(f, "\nset termoption noenhanced\nset grid\nset key top left\n");
    for (size_t i = 0; i < p->nseries; i++) {
        fprintf(f, "$d%zu << EOD\n", i);
        for (size_t k = 0; k < p->series[i].n; k++)
            fprintf(f, "%.9g %.9g\n", p->series[i].x[k], p->series[i].y[k]);
        fprintf(f, "EOD\n");
    }
    if (p->extra)
        fprintf(f, "%s\n", p->extra);
    fprintf(f, "plot");
    for (size_t i = 0; i < p->nseries; i++) {
        fprintf(f, "%s $d%zu using 1:2 with %s title ", i ? "," : "", i,
                p->series[i].style ? p->series[i].style : "lines lw 2");
        quoted(f, p->series[i].title);
    }
    fprintf(f, "\n");
    if (fclose(f) != 0) {
        snprintf(err, errlen, "%s: %s", gp, strerror(errno));
        return -1;
    }
    char cmd[1200];
    snprintf(cmd, sizeof(cmd), "gnuplot '%s' 2>&1", gp);
    if (strchr(gp, '\'')) {
        snprintf(err, errlen, "%s: a quote in the file name", gp);
        return -1;
    }
    FILE *g = popen(cmd, "r");
    char line[256] = "";
    if (g)
        while (fgets(line, sizeof(line), g))
            ;
    int st = g ? pclose(g) : -1;
    if (st == -1 || !WIFEXITED(st) || WEXITSTATUS(st) != 0) {
        line[strcspn(line, "\n")] = 0;
        if (st != -1 && WIFEXITED(st) && WEXITSTATUS(st) == 127)
            snprintf(err, errlen, "gnuplot is not installed (apt-get install gnuplot-nox); the script is %s", gp);
        else
            snprintf(err, errlen, "gnuplot failed on %s%s%s", gp, line[0] ? ": " : "", line);
        return -1;
    }
    return 0;
}
