/* oauth_fetch.c - an OAuth HTTP exchange read as JSON (oauth_fetch.h). */
#include "oauth/oauth_fetch.h"

#include "core/util.h"
#include "net/curl_loop.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct oauth_fetch {
    curl_xfer *xfer;
    strbuf answer;
    bool too_big;
    oauth_fetch_cb cb;
    void *ctx;
};

static void fetch_free(oauth_fetch *f)
{
    strbuf_free(&f->answer);
    free(f);
}

static bool on_data(const char *bytes, size_t len, void *ctx)
{
    oauth_fetch *f = ctx;
    if (f->answer.len + len > OAUTH_FETCH_MAX_BYTES) {
        f->too_big = true;
        return false;
    }
    strbuf_append(&f->answer, bytes, len);
    return true;
}

static void on_done(const curl_xfer_end *end, void *ctx)
{
    oauth_fetch *f = ctx;
    char why[300];
    oauth_fetch_result r = {.status = end->status};
    json_t *json = NULL;
    if (f->too_big) {
        snprintf(why, sizeof why, "the answer passed %d bytes", OAUTH_FETCH_MAX_BYTES);
        r.error = why;
    } else if (end->result != CURLE_OK) {
        snprintf(why, sizeof why, "%s", end->errbuf && *end->errbuf ? end->errbuf : curl_easy_strerror(end->result));
        r.error = why;
    } else if (f->answer.len) {
        json = json_loadb(f->answer.data, f->answer.len, 0, NULL);
        r.json = json;
    }
    f->xfer = NULL;
    f->cb(&r, f->ctx);
    json_decref(json);
    fetch_free(f);
}

static const curl_xfer_callbacks fetch_cbs = {.on_data = on_data, .on_done = on_done};

oauth_fetch *oauth_fetch_start(struct curl_loop *cl, const oauth_fetch_request *req, oauth_fetch_cb cb, void *ctx)
{
    oauth_fetch *f = xcalloc(1, sizeof(*f));
    f->cb = cb;
    f->ctx = ctx;
    CURL *e = curl_easy_init();
    curl_easy_setopt(e, CURLOPT_URL, req->url);
    curl_easy_setopt(e, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(e, CURLOPT_PROTOCOLS_STR, "http,https");
    curl_easy_setopt(e, CURLOPT_FOLLOWLOCATION, 0L);
    curl_easy_setopt(e, CURLOPT_TIMEOUT_MS, (long)(req->timeout_ms ? req->timeout_ms : 30000));
    curl_easy_setopt(e, CURLOPT_USERAGENT, "mcpproxy");
    if (req->tls_skip_verify) {
        curl_easy_setopt(e, CURLOPT_SSL_VERIFYPEER, 0L);
        curl_easy_setopt(e, CURLOPT_SSL_VERIFYHOST, 0L);
    }
    struct curl_slist *h = curl_slist_append(NULL, "Accept: application/json");
    if (req->body) {
        /* libcurl's own copy: a cancel from inside a callback frees the
         * transfer only later, and it must never read freed bytes. */
        curl_easy_setopt(e, CURLOPT_POSTFIELDSIZE, (long)strlen(req->body));
        curl_easy_setopt(e, CURLOPT_COPYPOSTFIELDS, req->body);
        strbuf ct = {0};
        strbuf_appendf(&ct, "Content-Type: %s", req->content_type ? req->content_type : "application/json");
        h = curl_slist_append(h, ct.data);
        strbuf_free(&ct);
        h = curl_slist_append(h, "Expect:");
    }
    f->xfer = curl_loop_start(cl, e, h, &fetch_cbs, f);
    return f;
}

void oauth_fetch_cancel(oauth_fetch *f)
{
    if (!f)
        return;
    curl_xfer_cancel(f->xfer);
    fetch_free(f);
}
