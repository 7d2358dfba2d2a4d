/*
 * ids.h - random identifiers (UUID version 4 from the kernel's CSPRNG).
 */
#ifndef APPOINTD_IDS_H
#define APPOINTD_IDS_H

/* Lower-case 8-4-4-4-12 form. */
void id_uuid4(char out[37]);

#endif
