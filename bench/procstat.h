/* procstat — what the kernel says about a process: CPU time and resident memory.
 * Reads /proc synchronously: a few hundred bytes from procfs never block on I/O. */
#ifndef BENCH_PROCSTAT_H
#define BENCH_PROCSTAT_H

#include <stdint.h>
#include <sys/types.h>

/* utime + stime of `pid` in microseconds; -1 when it cannot be read. */
int64_t procstat_cpu_us(pid_t pid);
/* VmRSS of `pid` in KiB; -1 when it cannot be read. */
long procstat_rss_kb(pid_t pid);
/* Wall clock (CLOCK_REALTIME) and monotonic clock in microseconds. */
int64_t procstat_realtime_us(void);
int64_t procstat_monotonic_us(void);

#endif
