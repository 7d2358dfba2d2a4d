/*
 * ics.h - a provider's appointments as an iCalendar (RFC 5545) feed, built
 * and serialised by libical: one VEVENT per appointment, every instant in
 * UTC, CRLF line ends and lines folded at 75 octets.
 */
#ifndef APPOINTD_ICS_H
#define APPOINTD_ICS_H

#include <stdint.h>

#define ICS_PRODID "-//appointd//appointd//EN"
#define ICS_UID_DOMAIN "appointd"   /* UID: <appointmentId>@appointd */
#define ICS_SUMMARY "Appointment"

/* What one VEVENT shows of an appointment. */
struct ics_appt {
	const char *id;              /* appointment UUID */
	const char *patient_id;      /* UTF-8, printable */
	int64_t start_ms, end_ms;
	int64_t created_ms, updated_ms;
	int status;                  /* enum appt_status */
	int version;                 /* 1 when booked, +1 per change: SEQUENCE is version - 1 */
};

/*
 * The VCALENDAR of n appointments, in the order given: NUL-terminated,
 * allocated by libical (free it with ics_free); NULL if libical fails.
 */
char *ics_feed(const char *provider_id, const struct ics_appt *appts, int n);
void ics_free(void *text);
/*
 * Frees what libical loads once per process on first use (its table of
 * built-in zones, which every UTC DATE-TIME touches); for a clean exit.
 */
void ics_shutdown(void);

#endif
