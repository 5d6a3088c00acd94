/* log.c - one structured line per call, written with a single fwrite so
 * lines from the process never interleave. */
#include "core/log.h"

#include "core/utf8.h"
#include "core/util.h"

#include <stdio.h>
#include <string.h>

static log_level min_level = LOG_INFO;
static log_format format = LOG_FORMAT_TEXT;

static const char *const level_names[] = {"debug", "info", "warn", "error"};

void log_setup(log_level level, log_format fmt)
{
    min_level = level;
    format = fmt;
}

bool log_level_parse(const char *name, log_level *out)
{
    for (int i = 0; i <= LOG_ERROR; i++) {
        if (strcmp(name, level_names[i]) == 0) {
            *out = (log_level)i;
            return true;
        }
    }
    return false;
}

bool log_format_parse(const char *name, log_format *out)
{
    if (strcmp(name, "text") == 0)
        *out = LOG_FORMAT_TEXT;
    else if (strcmp(name, "json") == 0)
        *out = LOG_FORMAT_JSON;
    else
        return false;
    return true;
}

bool log_enabled(log_level level)
{
    return level >= min_level;
}

/* A JSON string of s. Values can hold bytes from outside (an upstream's
 * stderr or stdout): runs between escapes go through the lossy conversion,
 * so a line is always valid UTF-8 and a JSON reader never rejects it. The
 * escaped bytes are ASCII, so a run never splits a character. */
static void append_json_string(strbuf *sb, const char *s)
{
    strbuf_append(sb, "\"", 1);
    const char *run = s;
    const char *p = s;
    for (; *p; p++) {
        unsigned char c = (unsigned char)*p;
        if (c != '"' && c != '\\' && c >= 0x20)
            continue;
        utf8_append_lossy(sb, run, (size_t)(p - run));
        if (c == '"' || c == '\\')
            strbuf_appendf(sb, "\\%c", c);
        else
            strbuf_appendf(sb, "\\u%04x", c);
        run = p + 1;
    }
    utf8_append_lossy(sb, run, (size_t)(p - run));
    strbuf_append(sb, "\"", 1);
}

/* Text values are bare when they are one plain word, quoted otherwise, so a
 * line always splits back into the same key=value pairs. */
static void append_text_value(strbuf *sb, const char *s)
{
    bool plain = *s != '\0';
    for (const char *p = s; *p && plain; p++)
        plain = *p > ' ' && *p != '"' && *p != '=' && *p != '\\' && (unsigned char)*p < 0x7f;
    if (plain)
        strbuf_append(sb, s, strlen(s));
    else
        append_json_string(sb, s);
}

static void append_field(strbuf *sb, const log_field *f)
{
    if (format == LOG_FORMAT_JSON) {
        strbuf_append(sb, ",", 1);
        append_json_string(sb, f->key);
        strbuf_append(sb, ":", 1);
        if (f->kind == LOG_FIELD_INT)
            strbuf_appendf(sb, "%lld", f->num);
        else if (f->str)
            append_json_string(sb, f->str);
        else
            strbuf_append(sb, "null", 4);
    } else {
        strbuf_appendf(sb, " %s=", f->key);
        if (f->kind == LOG_FIELD_INT)
            strbuf_appendf(sb, "%lld", f->num);
        else if (f->str)
            append_text_value(sb, f->str);
        else
            strbuf_append(sb, "null", 4);
    }
}

void log_kv(log_level level, const char *msg, const log_field *fields, size_t n_fields)
{
    if (!log_enabled(level))
        return;
    char ts[TIMESTAMP_LEN];
    timestamp_now(ts);
    strbuf sb = {0};
    if (format == LOG_FORMAT_JSON) {
        strbuf_appendf(&sb, "{\"ts\":\"%s\",\"level\":\"%s\",\"msg\":", ts, level_names[level]);
        append_json_string(&sb, msg);
    } else {
        strbuf_appendf(&sb, "%s %-5s ", ts, level_names[level]);
        strbuf_append(&sb, msg, strlen(msg));
    }
    for (size_t i = 0; i < n_fields; i++)
        append_field(&sb, &fields[i]);
    strbuf_append(&sb, format == LOG_FORMAT_JSON ? "}\n" : "\n", format == LOG_FORMAT_JSON ? 2 : 1);
    if (sb.data)
        fwrite(sb.data, 1, sb.len, stderr);
    strbuf_free(&sb);
}

void log_msg(log_level level, const char *msg)
{
    log_kv(level, msg, NULL, 0);
}
