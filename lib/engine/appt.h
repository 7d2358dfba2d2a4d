/*
 * appt.h - an appointment as the engine, the store and the calendar feed
 * know it: no wire format here (the JSON shape is api/codec.h's). The
 * bounds are the contract's, in characters; the buffers hold that many
 * characters of UTF-8 at four bytes each.
 */
#ifndef APPOINTD_APPT_H
#define APPOINTD_APPT_H

#include <stdint.h>

#include "core/ids.h"

#define APPT_PATIENT_MAX 128 /* characters of patientId */
#define APPT_REASON_MAX 500  /* characters of a cancellation reason */
#define APPT_SERVICE_MAX 63  /* characters of a serviceId: ^[a-z0-9][a-z0-9-]{0,62}$ */

#include <string.h>

/* PENDING: booked with a service that requires confirmation, not yet answered. */
enum appt_status { APPT_CONFIRMED = 0, APPT_CANCELLED = 1, APPT_PENDING = 2, APPT_DECLINED = 3 };
enum appt_attendance { APPT_ATTENDANCE_NONE = 0, APPT_ATTENDED = 1, APPT_NO_SHOW = 2 };

/* The contract's name of a status ("CONFIRMED", ...). */
static inline const char *appt_status_name(int status)
{
	static const char *const names[] = { "CONFIRMED", "CANCELLED", "PENDING", "DECLINED" };

	return status >= 0 && status <= APPT_DECLINED ? names[status] : "CONFIRMED";
}

/* The status of a name, or -1. */
static inline int appt_status_parse(const char *name)
{
	int i;

	for (i = 0; i <= APPT_DECLINED; i++)
		if (strcmp(name, appt_status_name(i)) == 0)
			return i;
	return -1;
}

/* The contract's name of an attendance value; NULL for none. */
static inline const char *appt_attendance_name(int attendance)
{
	return attendance == APPT_ATTENDED ? "ATTENDED" : attendance == APPT_NO_SHOW ? "NO_SHOW" : NULL;
}

struct appt {
	char id[ID_UUID_LEN + 1];
	char provider_id[ID_UUID_LEN + 1];
	char patient_id[APPT_PATIENT_MAX * 4 + 1]; /* UTF-8 */
	char service_id[APPT_SERVICE_MAX + 1];
	int64_t start_ms, end_ms;
	int buffer_before, buffer_after;           /* minutes, as booked (or last rescheduled) */
	int status;                                /* enum appt_status */
	char reason[APPT_REASON_MAX * 4 + 1];      /* "" when none */
	char decline_reason[APPT_REASON_MAX * 4 + 1]; /* "" when none */
	int attendance;                            /* enum appt_attendance */
	int version;
	int64_t created_ms, updated_ms;
};

#endif
