/*
 * ids.h - identifiers: random UUIDs (version 4 from the kernel's CSPRNG) and
 * the strict UUID text form every id in a URL, body or row takes.
 */
#ifndef APPOINTD_IDS_H
#define APPOINTD_IDS_H

#define ID_UUID_LEN 36 /* 8-4-4-4-12, without the NUL */

/* Lower-case 8-4-4-4-12 form. */
void id_uuid4(char out[ID_UUID_LEN + 1]);
/*
 * 1 if s is a UUID (8-4-4-4-12 hex, any case), else 0 (also for NULL);
 * writes the lower-case form to out unless out is NULL.
 */
int id_uuid_parse(const char *s, char out[ID_UUID_LEN + 1]);

#endif
