/*
 * err.c - building and encoding struct err. Field details keep insertion
 * order and never repeat a path, so a client can map them straight to form
 * fields.
 */
#include "core/err.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

void err_init(struct err *e)
{
	memset(e, 0, sizeof *e);
}

void err_clear(struct err *e)
{
	if (e->details)
		cJSON_Delete(e->details);
	err_init(e);
}

int err_set(struct err *e, int status, const char *code, const char *fmt, ...)
{
	va_list ap;

	e->status = status;
	e->code = code;
	va_start(ap, fmt);
	vsnprintf(e->message, sizeof e->message, fmt, ap);
	va_end(ap);
	return -1;
}

void err_field(struct err *e, const char *path, const char *fmt, ...)
{
	char msg[256];
	va_list ap;
	cJSON *list;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof msg, fmt, ap);
	va_end(ap);
	if (!e->details)
		e->details = cJSON_CreateObject();
	list = cJSON_GetObjectItemCaseSensitive(e->details, path);
	if (!list) {
		list = cJSON_CreateArray();
		cJSON_AddItemToObject(e->details, path, list);
	}
	cJSON_AddItemToArray(list, cJSON_CreateString(msg));
	e->status = 422;
	e->code = "VALIDATION_ERROR";
	snprintf(e->message, sizeof e->message, "Validation failed");
}

int err_is_set(const struct err *e)
{
	return e->status != 0;
}

char *err_to_json(const struct err *e)
{
	cJSON *root = cJSON_CreateObject();
	cJSON *inner = cJSON_AddObjectToObject(root, "error");
	char *out;

	cJSON_AddStringToObject(inner, "message", e->message[0] ? e->message : "error");
	cJSON_AddStringToObject(inner, "code", e->code ? e->code : "INTERNAL_SERVER_ERROR");
	if (e->details)
		cJSON_AddItemToObject(inner, "details", cJSON_Duplicate(e->details, 1));
	out = cJSON_PrintUnformatted(root);
	cJSON_Delete(root);
	return out;
}
