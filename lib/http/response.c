/*
 * response.c - what goes into a response besides its body: extra headers,
 * and the contract's error body for a struct err, which never leaks an
 * internal message (a 5xx other than 503 is always a bare 500).
 */
#include <stdio.h>
#include <string.h>

#include "http/http.h"

void http_resp_header(struct http_resp *resp, const char *name, const char *value)
{
	size_t used = strlen(resp->headers);
	size_t need = strlen(name) + strlen(value) + 4;

	if (used + need < sizeof resp->headers) {
		strcat(resp->headers, name);
		strcat(resp->headers, ": ");
		strcat(resp->headers, value);
		strcat(resp->headers, "\r\n");
	}
}

void http_resp_error(struct http_req *req, struct http_resp *resp, const struct err *e)
{
	struct err copy = *e;
	char buf[16];
	char *body;

	if (copy.status >= 500 && copy.status != 503) {
		copy.status = 500;
		copy.code = "INTERNAL_SERVER_ERROR";
		snprintf(copy.message, sizeof copy.message, "Internal server error.");
		copy.details = NULL;
	}
	resp->status = copy.status;
	resp->content_type = NULL; /* errors are always the JSON body */
	if (resp->json)
		cJSON_Delete(resp->json);
	resp->json = NULL;
	body = err_to_json(&copy);
	resp->raw = arena_strdup(req->arena, body);
	cJSON_free(body);
	if (copy.allow)
		http_resp_header(resp, "Allow", copy.allow);
	if (copy.retry_after) {
		snprintf(buf, sizeof buf, "%d", copy.retry_after);
		http_resp_header(resp, "Retry-After", buf);
	}
	if (copy.status == 401)
		http_resp_header(resp, "WWW-Authenticate", "Bearer");
}
