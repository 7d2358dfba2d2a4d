/*
 * ics.c - the calendar feed's iCalendar text, built with libical.
 *
 * What a VEVENT carries is a privacy decision, made here once: SUMMARY is
 * the neutral "Appointment" (it is what notifications, lock screens and
 * shared free/busy views show); DESCRIPTION holds the opaque patientId and
 * nothing else (no cancellation reason: it is free text); CLASS:PRIVATE asks
 * clients that share the calendar to show only the busy time. A cancelled
 * appointment stays in the feed as STATUS:CANCELLED and TRANSP:TRANSPARENT,
 * so subscribers see the change rather than a vanished event; a declined
 * request is CANCELLED too, and a PENDING one TENTATIVE.
 *
 * Instants are whole UTC seconds (the Z form); DTSTAMP and LAST-MODIFIED
 * are the row's updated_at, so the same rows always give the same bytes
 * (the feed's ETag depends on it). libical keeps its own error state and
 * scratch buffers, and on first use reads its zones.tab (any UTC DATE-TIME
 * needs libical's UTC zone); ics_shutdown releases that. Nothing here keeps
 * state between calls.
 *
 * libical before 4.0.3 (Debian 12 has 3.0) folds a content line counting
 * its CRLF, so a fold may land inside the line ending (CR, CRLF SP, LF: a
 * bare CR that breaks parsers) or right before it (CRLF SP CRLF); the text
 * is mended after libical writes it (libical pull request 1338).
 */
#include "engine/ics.h"

#include <libical/ical.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "engine/appt.h"

static struct icaltimetype utc_time(int64_t ms)
{
	/* Floor to the second, also before 1970. */
	int64_t s = ms / 1000 - (ms % 1000 < 0);

	return icaltime_from_timet_with_zone((time_t)s, 0, icaltimezone_get_utc_timezone());
}

static icalcomponent *vevent(const struct ics_appt *a)
{
	icalcomponent *ev = icalcomponent_new_vevent();
	int cancelled = a->status == APPT_CANCELLED || a->status == APPT_DECLINED;
	char uid[ID_UUID_LEN + sizeof "@" ICS_UID_DOMAIN];
	char *desc;
	size_t n;

	snprintf(uid, sizeof uid, "%s@%s", a->id, ICS_UID_DOMAIN);
	n = strlen(a->patient_id) + sizeof "Patient ID: ";
	desc = icalmemory_new_buffer(n);
	if (!ev || !desc) {
		icalmemory_free_buffer(desc);
		if (ev)
			icalcomponent_free(ev);
		return NULL;
	}
	snprintf(desc, n, "Patient ID: %s", a->patient_id);
	icalcomponent_add_property(ev, icalproperty_new_uid(uid));
	icalcomponent_add_property(ev, icalproperty_new_dtstamp(utc_time(a->updated_ms)));
	icalcomponent_add_property(ev, icalproperty_new_dtstart(utc_time(a->start_ms)));
	icalcomponent_add_property(ev, icalproperty_new_dtend(utc_time(a->end_ms)));
	icalcomponent_add_property(ev, icalproperty_new_status(
					       cancelled ? ICAL_STATUS_CANCELLED
					       : a->status == APPT_PENDING ? ICAL_STATUS_TENTATIVE
									 : ICAL_STATUS_CONFIRMED));
	icalcomponent_add_property(ev, icalproperty_new_sequence(a->version > 0 ? a->version - 1 : 0));
	icalcomponent_add_property(ev, icalproperty_new_summary(ICS_SUMMARY));
	icalcomponent_add_property(ev, icalproperty_new_description(desc));
	icalcomponent_add_property(ev, icalproperty_new_class(ICAL_CLASS_PRIVATE));
	icalcomponent_add_property(ev, icalproperty_new_transp(cancelled ? ICAL_TRANSP_TRANSPARENT
									 : ICAL_TRANSP_OPAQUE));
	icalcomponent_add_property(ev, icalproperty_new_created(utc_time(a->created_ms)));
	icalcomponent_add_property(ev, icalproperty_new_lastmodified(utc_time(a->updated_ms)));
	icalmemory_free_buffer(desc);
	return ev;
}

/*
 * Removes the folds libical put into or right before a line ending. No
 * value holds a bare CR or LF (TEXT escapes them, ids refuse controls), so
 * these sequences can only be such folds.
 */
static void mend_folds(char *text)
{
	char *in = text, *out = text;

	while (*in) {
		if (in[0] == '\r' && strncmp(in + 1, "\r\n \n", 4) == 0) {
			in += 5; /* CR [CRLF SP] LF */
			*out++ = '\r';
			*out++ = '\n';
		} else if (strncmp(in, "\r\n \r\n", 5) == 0) {
			in += 5; /* [CRLF SP] CRLF */
			*out++ = '\r';
			*out++ = '\n';
		} else {
			*out++ = *in++;
		}
	}
	*out = '\0';
}

char *ics_feed(const char *provider_id, const struct ics_appt *appts, int n)
{
	icalcomponent *cal = icalcomponent_new_vcalendar();
	icalproperty *name;
	char calname[64];
	char *text = NULL;
	int i;

	if (!cal)
		return NULL;
	icalcomponent_add_property(cal, icalproperty_new_version("2.0"));
	icalcomponent_add_property(cal, icalproperty_new_prodid(ICS_PRODID));
	icalcomponent_add_property(cal, icalproperty_new_calscale("GREGORIAN"));
	icalcomponent_add_property(cal, icalproperty_new_method(ICAL_METHOD_PUBLISH));
	snprintf(calname, sizeof calname, "Appointments %s", provider_id);
	name = icalproperty_new_x(calname);
	icalproperty_set_x_name(name, "X-WR-CALNAME");
	icalcomponent_add_property(cal, name);
	for (i = 0; i < n; i++) {
		icalcomponent *ev = vevent(&appts[i]);

		if (!ev)
			goto out;
		icalcomponent_add_component(cal, ev);
	}
	text = icalcomponent_as_ical_string_r(cal);
	if (text)
		mend_folds(text);
out:
	icalcomponent_free(cal);
	return text;
}

void ics_free(void *text)
{
	icalmemory_free_buffer(text);
}

void ics_shutdown(void)
{
	icaltimezone_free_builtin_timezones();
}
