/*
 * Copyright (c) 2026 The lwm2m_carrier authors
 * SPDX-License-Identifier: Apache-2.0
 *
 * Test double for port/c/lwm2m_carrier_host_main.c (tests/c_glue.rs): stands
 * in for the library and prints what the glue passed to it.
 */

#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#include <lwm2m_carrier.h>
#include <lwm2m_os.h>

int64_t lwm2m_os_uptime_ms(void)
{
	return 0;
}

void lwm2m_os_log(int level, const char *msg)
{
	printf("log %d: %s\n", level, msg);
}

static const char *or_null(const char *s)
{
	return s ? s : "(null)";
}

int lwm2m_carrier_init(const lwm2m_carrier_config_t *config)
{
	lwm2m_carrier_event_t event = { .type = 1, .data = NULL };
	const char *result = getenv("STUB_INIT_RESULT");

	printf("uri=%s psk=%s apn=%s cert=%d\n", or_null(config->bootstrap_uri),
	       or_null(config->psk), or_null(config->apn), (int)config->certification_mode);
	printf("handler=%d\n", lwm2m_carrier_event_handler(&event));
	return result ? atoi(result) : 0;
}

void lwm2m_carrier_run(void)
{
	printf("run\n");
	usleep(100 * 1000); /* let the application's main() print first */
}
