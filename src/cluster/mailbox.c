/* mailbox.c - letters from nats.c's threads to the loop (mailbox.h). */
#include "cluster/mailbox.h"

#include "core/util.h"

#include <stdlib.h>
#include <string.h>

static void on_wake(uv_async_t *h)
{
    mailbox *m = h->data;
    uv_mutex_lock(&m->lock);
    letter *l = m->head;
    m->head = m->tail = NULL;
    uv_mutex_unlock(&m->lock);
    while (l) {
        letter *next = l->next;
        m->read(l, m->ctx);
        free(l);
        l = next;
    }
    if (m->after)
        m->after(m->ctx);
}

void mailbox_init(mailbox *m, uv_loop_t *loop, mailbox_read_fn read, mailbox_after_fn after, void *ctx)
{
    *m = (mailbox){.read = read, .after = after, .ctx = ctx};
    uv_mutex_init(&m->lock);
    uv_async_init(loop, &m->wake, on_wake);
    m->wake.data = m;
}

void mailbox_post(mailbox *m, int kind, uint64_t num, bool flag, const char *const part[MAILBOX_PARTS],
                  const size_t len[MAILBOX_PARTS])
{
    size_t total = 0;
    for (int i = 0; i < MAILBOX_PARTS; i++)
        total += (part && part[i] ? len[i] : 0) + 1;
    letter *l = xmalloc(sizeof *l + total);
    l->next = NULL;
    l->kind = kind;
    l->num = num;
    l->flag = flag;
    char *p = l->data;
    for (int i = 0; i < MAILBOX_PARTS; i++) {
        l->len[i] = part && part[i] ? len[i] : 0;
        if (l->len[i])
            memcpy(p, part[i], l->len[i]);
        p[l->len[i]] = '\0';
        l->part[i] = p;
        p += l->len[i] + 1;
    }
    uv_mutex_lock(&m->lock);
    if (m->closed) {
        uv_mutex_unlock(&m->lock);
        free(l);
        return;
    }
    if (m->tail)
        m->tail->next = l;
    else
        m->head = l;
    m->tail = l;
    uv_async_send(&m->wake); /* under the lock: the handle is not closed meanwhile */
    uv_mutex_unlock(&m->lock);
}

void mailbox_post_kind(mailbox *m, int kind, uint64_t num)
{
    mailbox_post(m, kind, num, false, NULL, NULL);
}

void mailbox_close(mailbox *m)
{
    uv_mutex_lock(&m->lock);
    m->closed = true;
    letter *l = m->head;
    m->head = m->tail = NULL;
    uv_mutex_unlock(&m->lock);
    while (l) {
        letter *next = l->next;
        free(l);
        l = next;
    }
    uv_close((uv_handle_t *)&m->wake, NULL);
}

void mailbox_destroy(mailbox *m)
{
    uv_mutex_destroy(&m->lock);
}
