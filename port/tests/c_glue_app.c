/*
 * Copyright (c) 2026 The lwm2m_carrier authors
 * SPDX-License-Identifier: Apache-2.0
 *
 * A minimal application for tests/c_glue.rs, compiled with
 * -Dmain=lwm2m_app_main like the real sample.
 */

#include <stdio.h>

#include <lwm2m_carrier.h>

#ifdef APP_EVENT_HANDLER
int lwm2m_carrier_event_handler(const lwm2m_carrier_event_t *event)
{
	(void)event;
	return 7;
}
#endif

int main(void)
{
	printf("app main\n");
	return 0;
}
