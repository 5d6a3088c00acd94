/* tcpbytes — TCP payload bytes a socket has received (Linux TCP_INFO). Its
 * own file: the kernel's struct tcp_info (linux/tcp.h) clashes with the
 * older copy in netinet/tcp.h that libuv's headers pull in. */
#ifndef BENCH_TCPBYTES_H
#define BENCH_TCPBYTES_H

#include <stdint.h>

/* Bytes received on fd so far, or 0 when the kernel does not say. */
uint64_t tcp_bytes_received(int fd);

#endif
