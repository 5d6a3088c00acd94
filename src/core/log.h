/* log.h - structured log lines on stderr: text (key=value) or JSON.
 *
 *   log_kv(LOG_INFO, "WebSocket client registered",
 *          LOG_FIELDS(LOG_INT("total_clients", n), LOG_STR("endpoint", "/ws/events")));
 *   log_msg(LOG_WARN, "config reload rejected");
 */
#ifndef MCPPROXY_CORE_LOG_H
#define MCPPROXY_CORE_LOG_H

#include <stdbool.h>
#include <stddef.h>

typedef enum log_level { LOG_DEBUG, LOG_INFO, LOG_WARN, LOG_ERROR } log_level;
typedef enum log_format { LOG_FORMAT_TEXT, LOG_FORMAT_JSON } log_format;

typedef enum log_field_kind { LOG_FIELD_STR, LOG_FIELD_INT } log_field_kind;

typedef struct log_field {
    const char *key;
    log_field_kind kind;
    const char *str; /* LOG_FIELD_STR; NULL prints as null */
    long long num;   /* LOG_FIELD_INT */
} log_field;

#define LOG_STR(k, v) ((log_field){.key = (k), .kind = LOG_FIELD_STR, .str = (v)})
#define LOG_INT(k, v) ((log_field){.key = (k), .kind = LOG_FIELD_INT, .num = (long long)(v)})
/* Expands to "array, count" for log_kv. */
#define LOG_FIELDS(...) (const log_field[]){__VA_ARGS__}, sizeof((const log_field[]){__VA_ARGS__}) / sizeof(log_field)

void log_setup(log_level min_level, log_format format);
bool log_level_parse(const char *name, log_level *out);
bool log_format_parse(const char *name, log_format *out);
bool log_enabled(log_level level);

/* Writes one line if `level` is enabled. Fields are copied out immediately. */
void log_kv(log_level level, const char *msg, const log_field *fields, size_t n_fields);
void log_msg(log_level level, const char *msg);

#endif
