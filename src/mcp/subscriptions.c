/* subscriptions.c - the resources/subscribe records of /mcp sessions.
 * A plain list: subscriptions are few, and each operation is one walk. */
#include "mcp/subscriptions.h"

#include "core/util.h"

#include <stdlib.h>
#include <string.h>

typedef struct sub {
    struct sub *next;
    char *session_id, *server, *uri;
} sub;

struct mcp_subs {
    sub *head;
    size_t n;
};

mcp_subs *mcp_subs_create(void)
{
    return xcalloc(1, sizeof(mcp_subs));
}

static void sub_free(sub *s)
{
    free(s->session_id);
    free(s->server);
    free(s->uri);
    free(s);
}

void mcp_subs_destroy(mcp_subs *t)
{
    if (!t)
        return;
    while (t->head) {
        sub *s = t->head;
        t->head = s->next;
        sub_free(s);
    }
    free(t);
}

static bool same(const sub *s, const char *server, const char *uri)
{
    return strcmp(s->server, server) == 0 && strcmp(s->uri, uri) == 0;
}

bool mcp_subs_add(mcp_subs *t, const char *session_id, const char *server, const char *uri)
{
    size_t held = 0;
    for (sub *s = t->head; s; s = s->next) {
        if (strcmp(s->session_id, session_id) != 0)
            continue;
        if (same(s, server, uri))
            return true;
        held++;
    }
    if (held >= MCP_SUBS_PER_SESSION)
        return false;
    sub *s = xcalloc(1, sizeof *s);
    s->session_id = xstrdup(session_id);
    s->server = xstrdup(server);
    s->uri = xstrdup(uri);
    s->next = t->head;
    t->head = s;
    t->n++;
    return true;
}

bool mcp_subs_remove(mcp_subs *t, const char *session_id, const char *server, const char *uri)
{
    bool others = false;
    for (sub **pp = &t->head; *pp;) {
        sub *s = *pp;
        if (!same(s, server, uri)) {
            pp = &s->next;
        } else if (strcmp(s->session_id, session_id) == 0) {
            *pp = s->next;
            sub_free(s);
            t->n--;
        } else {
            others = true;
            pp = &s->next;
        }
    }
    return others;
}

size_t mcp_subs_deliver(mcp_subs *t, const char *server, const char *uri,
                        bool (*send)(const char *session_id, void *ctx), void *ctx)
{
    size_t n = 0;
    for (sub **pp = &t->head; *pp;) {
        sub *s = *pp;
        if (!same(s, server, uri)) {
            pp = &s->next;
        } else if (send(s->session_id, ctx)) {
            n++;
            pp = &s->next;
        } else {
            *pp = s->next;
            sub_free(s);
            t->n--;
        }
    }
    return n;
}

/* Whether any record is for `uri` on `server`. */
static bool held(const mcp_subs *t, const char *server, const char *uri)
{
    for (const sub *s = t->head; s; s = s->next) {
        if (same(s, server, uri))
            return true;
    }
    return false;
}

void mcp_subs_drop_session(mcp_subs *t, const char *session_id,
                           void (*gone)(const char *server, const char *uri, void *ctx), void *ctx)
{
    sub *dropped = NULL;
    for (sub **pp = &t->head; *pp;) {
        sub *s = *pp;
        if (strcmp(s->session_id, session_id) == 0) {
            *pp = s->next;
            s->next = dropped;
            dropped = s;
            t->n--;
        } else {
            pp = &s->next;
        }
    }
    /* Told only once the session's records are all out: one that another
     * session still holds is not gone. */
    while (dropped) {
        sub *s = dropped;
        dropped = s->next;
        if (!held(t, s->server, s->uri))
            gone(s->server, s->uri, ctx);
        sub_free(s);
    }
}

size_t mcp_subs_count(const mcp_subs *t)
{
    return t->n;
}
