/* mailbox.h - what nats.c's threads hand to the loop, in the order they
 * hand it.
 *
 * nats.c calls back on its own threads (a subscription's delivery thread,
 * its callback thread, a publish's ack handler); nothing there may touch
 * the bus or the app. Such a callback copies what it got into a letter
 * (mailbox_post, any thread); the loop reads the letters in the order they
 * were posted, all that wait, in one callback per wake-up. After
 * mailbox_close() letters are dropped: nats.c's threads may still call
 * back while the connection closes.
 *
 *   mailbox_init ── post (any thread) / read (loop) ──▶ mailbox_close (loop)
 *   ── the loop's last run ──▶ mailbox_destroy */
#ifndef MCPPROXY_CLUSTER_MAILBOX_H
#define MCPPROXY_CLUSTER_MAILBOX_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <uv.h>

#define MAILBOX_PARTS 3

/* One thing a thread told the loop: its owner's kind, a number (a seq, an
 * id, a revision), a flag, and up to three texts copied in. */
typedef struct letter {
    struct letter *next;
    int kind;
    uint64_t num;
    bool flag;
    size_t len[MAILBOX_PARTS]; /* bytes of part[i], without its NUL */
    char *part[MAILBOX_PARTS]; /* into data, each NUL-terminated; "" when not given */
    char data[];
} letter;

/* Called on the loop for each letter, in order; `l` is freed after. */
typedef void (*mailbox_read_fn)(const letter *l, void *ctx);

/* Called on the loop once the letters of a wake-up are read. */
typedef void (*mailbox_after_fn)(void *ctx);

typedef struct mailbox {
    uv_mutex_t lock;
    uv_async_t wake;
    letter *head, *tail; /* under lock */
    bool closed;         /* under lock */
    mailbox_read_fn read;
    mailbox_after_fn after; /* NULL: nothing */
    void *ctx;
} mailbox;

/* On the loop. `m` must stay put (it is the async handle's home). `after`
 * may be NULL. */
void mailbox_init(mailbox *m, uv_loop_t *loop, mailbox_read_fn read, mailbox_after_fn after, void *ctx);

/* Any thread. part[i] may be NULL (then ""). Dropped after close. */
void mailbox_post(mailbox *m, int kind, uint64_t num, bool flag, const char *const part[MAILBOX_PARTS],
                  const size_t len[MAILBOX_PARTS]);

/* Posts a letter with only a kind (and a number). */
void mailbox_post_kind(mailbox *m, int kind, uint64_t num);

/* On the loop: what waits is dropped, later posts too; the async handle
 * leaves the loop on its next turn. */
void mailbox_close(mailbox *m);

/* After mailbox_close() and the loop's last run. */
void mailbox_destroy(mailbox *m);

#endif
