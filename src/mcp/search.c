/* search.c - retrieve_tools and call_tool, and the index behind them
 * (search.h). */
#include "mcp/search.h"

#include "core/jsonrpc.h"
#include "core/log.h"
#include "core/strmap.h"
#include "core/util.h"
#include "store/activity.h"
#include "store/tool_index.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* One tool in the index: the definition it was indexed from, to tell a
 * changed tool from one listed again unchanged. */
typedef struct indexed {
    char *name; /* the strmap's key */
    json_t *def;
} indexed;

struct mcp_search {
    app *a;
    tool_index *ix;
    strmap tools; /* offered name -> indexed */
};

mcp_search *mcp_search_create(app *a, char *err, size_t err_len)
{
    tool_index *ix = tool_index_create(err, err_len);
    if (!ix)
        return NULL;
    mcp_search *s = xcalloc(1, sizeof *s);
    s->a = a;
    s->ix = ix;
    return s;
}

static void indexed_free(indexed *t)
{
    json_decref(t->def);
    free(t->name);
    free(t);
}

void mcp_search_destroy(mcp_search *s)
{
    if (!s)
        return;
    for (size_t i = 0; i < s->tools.n_slots; i++)
        if (s->tools.slots[i].key)
            indexed_free(s->tools.slots[i].value);
    strmap_free(&s->tools);
    tool_index_destroy(s->ix);
    free(s);
}

void mcp_search_sync(mcp_search *s, const mcp_catalog *cat)
{
    strmap next = {0};
    size_t changed = 0, removed = 0;
    tool_index_begin(s->ix);
    for (size_t i = 0; i < cat->n; i++) {
        const mcp_catalog_entry *e = &cat->entries[i];
        indexed *t = strmap_del(&s->tools, e->name);
        /* The manager hands the same object again for a tool that did not
         * change; a re-listed equal one is equal. */
        if (!t || (t->def != e->def && !json_equal(t->def, e->def))) {
            tool_index_put(s->ix, e->name, e->server, e->def);
            changed++;
        }
        if (!t) {
            t = xcalloc(1, sizeof *t);
            t->name = xstrdup(e->name);
        }
        json_decref(t->def);
        t->def = json_incref(e->def);
        strmap_put(&next, t->name, t);
    }
    /* What is left was not offered any more. */
    for (size_t i = 0; i < s->tools.n_slots; i++) {
        if (!s->tools.slots[i].key)
            continue;
        indexed *t = s->tools.slots[i].value;
        tool_index_remove(s->ix, t->name);
        indexed_free(t);
        removed++;
    }
    tool_index_commit(s->ix);
    strmap_free(&s->tools);
    s->tools = next;
    if (changed || removed)
        log_kv(LOG_DEBUG, "search index updated",
               LOG_FIELDS(LOG_INT("indexed", changed), LOG_INT("removed", removed), LOG_INT("tools", cat->n)));
}

json_t *mcp_search_tools_json(void)
{
    return json_pack(
        "[{s:s, s:s, s:{s:s, s:{s:{s:s, s:s}, s:{s:s, s:s, s:i, s:i}, s:{s:s, s:s}}, s:[s]}, s:{s:b, s:b}},"
        " {s:s, s:s, s:{s:s, s:{s:{s:s, s:s}, s:{s:s, s:s}}, s:[s]}}]",
        "name", MCP_SEARCH_TOOL, "description",
        "Finds the tools that fit a task among every tool mcpproxy's servers offer, best first, with each one's "
        "full input schema. Describe what you want to do in a few words (\"create a github issue\", \"read a "
        "file\"); then call the one you pick with call_tool.",
        "inputSchema", "type", "object", "properties", "query", "type", "string", "description",
        "what you want to do, in a few words", "limit", "type", "integer", "description",
        "how many tools at most (default 5)", "minimum", 1, "maximum", MCP_SEARCH_MAX_LIMIT, "server", "type", "string",
        "description", "only the tools of this server", "required", "query", "annotations", "readOnlyHint", 1,
        "openWorldHint", 0,

        "name", MCP_SEARCH_CALL, "description",
        "Calls a tool that retrieve_tools found, by the name it gave (SERVER__TOOL), with arguments that follow "
        "that tool's input schema. Returns what the tool returns.",
        "inputSchema", "type", "object", "properties", "name", "type", "string", "description",
        "the tool's name as retrieve_tools gave it", "arguments", "type", "object", "description",
        "the tool's arguments", "required", "name");
}

/* A tool-level error: the model sees the message and can correct itself. */
static json_t *tool_error(json_t *id, const char *message)
{
    return jsonrpc_result_new(
        id, json_pack("{s:[{s:s, s:s}], s:b}", "content", "type", "text", "text", message, "isError", 1));
}

static json_t *retrieve(mcp_search *s, const mcp_catalog *cat, json_t *id, json_t *args, const char **error)
{
    const char *query = json_string_value(json_object_get(args, "query"));
    json_t *limit_j = json_object_get(args, "limit");
    json_t *server_j = json_object_get(args, "server");
    *error = NULL;
    if (!query) {
        *error = "retrieve_tools needs arguments.query, a string: what you want to do, in a few words";
    } else if (limit_j && (!json_is_integer(limit_j) || json_integer_value(limit_j) < 1 ||
                           json_integer_value(limit_j) > MCP_SEARCH_MAX_LIMIT)) {
        *error = "retrieve_tools: arguments.limit must be a whole number from 1 to 50";
    } else if (server_j && !json_is_string(server_j)) {
        *error = "retrieve_tools: arguments.server must be a server's name";
    }
    if (*error)
        return tool_error(id, *error);
    size_t limit = limit_j ? (size_t)json_integer_value(limit_j) : MCP_SEARCH_DEFAULT_LIMIT;
    tool_hit hits[MCP_SEARCH_MAX_LIMIT];
    size_t n = tool_index_search(s->ix, query, json_string_value(server_j), limit, hits);
    json_t *tools = json_array();
    for (size_t i = 0; i < n; i++) {
        const mcp_catalog_entry *e = mcp_catalog_find(cat, hits[i].name);
        if (!e) /* indexed but gone this very turn */
            continue;
        json_t *schema = json_object_get(e->def, "inputSchema");
        json_t *t = json_pack("{s:s, s:s, s:o}", "name", e->name, "server", e->server, "inputSchema",
                              schema ? json_incref(schema) : json_pack("{s:s}", "type", "object"));
        const char *fields[] = {"title", "description", "outputSchema", "annotations"};
        for (size_t k = 0; k < sizeof fields / sizeof fields[0]; k++)
            if (json_object_get(e->def, fields[k]))
                json_object_set(t, fields[k], json_object_get(e->def, fields[k]));
        json_object_set_new(t, "score", json_real(-hits[i].score)); /* higher is better */
        json_array_append_new(tools, t);
    }
    tool_hits_free(hits, n);
    json_t *found = json_pack("{s:o}", "tools", tools);
    char *text = json_dumps(found, JSON_COMPACT);
    json_t *result =
        json_pack("{s:[{s:s, s:s}], s:o}", "content", "type", "text", "text", text, "structuredContent", found);
    free(text);
    return jsonrpc_result_new(id, result);
}

void mcp_search_call(mcp_search *s, mcp_batch *b, const mcp_catalog *cat, const char *session_id, json_t *id,
                     json_t *params)
{
    const char *name = json_string_value(json_object_get(params, "name"));
    json_t *args = json_object_get(params, "arguments");
    if (name && strcmp(name, MCP_SEARCH_CALL) == 0) {
        const char *target = json_string_value(json_object_get(args, "name"));
        json_t *target_args = json_object_get(args, "arguments");
        if (!target || (target_args && !json_is_object(target_args))) {
            mcp_batch_answer_now(b, tool_error(id, "call_tool needs arguments.name, a tool's name as retrieve_tools "
                                                   "gave it, and arguments.arguments, an object (or none)"));
            return;
        }
        /* The same request, as if the tool had been called by its name
         * (_meta such as a progressToken passes on). */
        json_t *inner = json_copy(params);
        json_object_set_new(inner, "name", json_string(target));
        json_object_set_new(inner, "arguments", target_args ? json_incref(target_args) : json_object());
        mcp_batch_call_tool(b, cat, session_id, id, inner);
        json_decref(inner);
        return;
    }
    if (name && strcmp(name, MCP_SEARCH_TOOL) == 0) {
        uint64_t start = uv_hrtime();
        const char *error;
        json_t *answer = retrieve(s, cat, id, args, &error);
        uv_timeval64_t now;
        uv_gettimeofday(&now);
        uint64_t ms = (uv_hrtime() - start) / 1000000u;
        activity_log_add(
            s->a->activity,
            &(activity_record){.ts_ms = now.tv_sec * 1000 + now.tv_usec / 1000 - (int64_t)ms,
                               .session_id = session_id,
                               .server = NULL,
                               .method = "tools/call",
                               .name = MCP_SEARCH_TOOL,
                               .arguments = args,
                               .error = error,
                               .duration_ms = ms,
                               .response_bytes = json_dumpb(json_object_get(answer, "result"), NULL, 0, JSON_COMPACT)});
        mcp_batch_answer_now(b, answer);
        return;
    }
    char why[300];
    snprintf(why, sizeof why,
             "this session is in search mode: its tools are " MCP_SEARCH_TOOL " and " MCP_SEARCH_CALL
             " (unknown tool \"%.100s\"); open /mcp?mode=direct to call tools by name",
             name ? name : "");
    mcp_batch_answer_now(b, jsonrpc_error_new(id, RPC_INVALID_PARAMS, why, NULL));
}
