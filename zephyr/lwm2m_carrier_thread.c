/*
 * Copyright (c) 2026 The lwm2m_carrier authors
 * SPDX-License-Identifier: Apache-2.0
 */

/*
 * The carrier thread: started at boot, it configures the library from
 * Kconfig, calls lwm2m_carrier_init() and then runs lwm2m_carrier_run().
 * The application never calls either itself; it only implements
 * lwm2m_carrier_event_handler() (a weak default accepting every event is
 * in glue/lwm2m_carrier_defaults.c) and calls the setters.
 *
 * A failed init is logged and ends the thread; it does not crash the device
 * (the original asserted here).
 */

#include <zephyr.h>
#include <logging/log.h>

#include <lwm2m_carrier.h>

LOG_MODULE_DECLARE(lwm2m_carrier);

/* The stack is CONFIG_LWM2M_CARRIER_THREAD_STACK_SIZE (the original had a
 * fixed 4096); the priority is the original's. */
#define LWM2M_CARRIER_THREAD_PRIORITY K_LOWEST_APPLICATION_THREAD_PRIO

/* The weak lwm2m_carrier_event_handler() and the other weak defaults are in
 * glue/lwm2m_carrier_defaults.c, shared with the host port. */

/* The library keeps these pointers: static storage, Kconfig literals. */
static lwm2m_carrier_config_t carrier_config = {
#ifdef CONFIG_LWM2M_CARRIER_USE_CUSTOM_BOOTSTRAP_URI
	.bootstrap_uri = CONFIG_LWM2M_CARRIER_CUSTOM_BOOTSTRAP_URI,
#endif
#ifdef CONFIG_LWM2M_CARRIER_USE_CUSTOM_BOOTSTRAP_PSK
	.psk = CONFIG_LWM2M_CARRIER_CUSTOM_BOOTSTRAP_PSK,
#endif
	.certification_mode = IS_ENABLED(CONFIG_LWM2M_CARRIER_CERTIFICATION_MODE),
};

static void lwm2m_carrier_thread_run(void *p1, void *p2, void *p3)
{
	ARG_UNUSED(p1);
	ARG_UNUSED(p2);
	ARG_UNUSED(p3);

	int err = lwm2m_carrier_init(&carrier_config);

	if (err != 0) {
		LOG_ERR("lwm2m_carrier_init() failed: %d", err);
		return;
	}

	/* Returns only after a fatal error event or a vetoed reboot. */
	lwm2m_carrier_run();
	LOG_WRN("lwm2m_carrier_run() returned");
}

K_THREAD_DEFINE(lwm2m_carrier_thread, CONFIG_LWM2M_CARRIER_THREAD_STACK_SIZE,
		lwm2m_carrier_thread_run, NULL, NULL, NULL,
		LWM2M_CARRIER_THREAD_PRIORITY, 0, 0);
