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

enum appt_status { APPT_CONFIRMED = 0, APPT_CANCELLED = 1 };

struct appt {
	char id[ID_UUID_LEN + 1];
	char provider_id[ID_UUID_LEN + 1];
	char patient_id[APPT_PATIENT_MAX * 4 + 1]; /* UTF-8 */
	char service_id[APPT_SERVICE_MAX + 1];
	int64_t start_ms, end_ms;
	int buffer_before, buffer_after;           /* minutes, as booked (or last rescheduled) */
	int status;                                /* enum appt_status */
	char reason[APPT_REASON_MAX * 4 + 1];      /* "" when none */
	int version;
	int64_t created_ms, updated_ms;
};

#endif
