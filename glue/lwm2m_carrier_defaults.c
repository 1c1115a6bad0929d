/*
 * Copyright (c) 2026 The lwm2m_carrier authors
 * SPDX-License-Identifier: Apache-2.0
 *
 * The weak default event handler, shared by every platform glue (zephyr/
 * and the host port): as in the original, `lwm2m_carrier_event_handler` is
 * undefined in the library archive and the glue supplies a weak default
 * that the application overrides (c-api.md §2.8).
 *
 * The weak time and memory defaults (the seven time functions and
 * lwm2m_carrier_memory_free_read) are in the archive itself, as in the
 * original: src/capi/defaults.rs.
 */

#include <lwm2m_carrier.h>

#define WEAK __attribute__((weak))

WEAK int lwm2m_carrier_event_handler(const lwm2m_carrier_event_t *event)
{
	(void)event;
	return 0;
}
