/* common/npy.c: .npy headers (see npy.h). */
#include "common/npy.h"

#include <stdio.h>
#include <string.h>

size_t sem_npy_header(char *out, size_t cap, const char *descr, uint64_t rows, uint64_t cols)
{
    char dict[160];
    int dl = cols ? snprintf(dict, sizeof dict, "{'descr': '%s', 'fortran_order': False, 'shape': (%llu, %llu), }",
                             descr, (unsigned long long)rows, (unsigned long long)cols)
                  : snprintf(dict, sizeof dict, "{'descr': '%s', 'fortran_order': False, 'shape': (%llu,), }", descr,
                             (unsigned long long)rows);
    if (dl < 0 || (size_t)dl >= sizeof dict)
        return 0;
    size_t total = (10 + (size_t)dl + 1 + 63) / 64 * 64; /* magic(6) + version(2) + len(2) + dict + '\n' */
    if (total > cap)
        return 0;
    size_t hlen = total - 10;
    memcpy(out, "\x93NUMPY\x01\x00", 8);
    out[8] = (char)(hlen & 0xff);
    out[9] = (char)(hlen >> 8);
    memcpy(out + 10, dict, (size_t)dl);
    memset(out + 10 + dl, ' ', total - 10 - (size_t)dl - 1);
    out[total - 1] = '\n';
    return total;
}
