/*
 * Copyright (c) 2026 The lwm2m_carrier authors
 * SPDX-License-Identifier: Apache-2.0
 *
 * Weak defaults of the functions an application may override (c-api.md
 * §2.8), shared by every platform glue (zephyr/ and the host port). They live
 * in C because a weak symbol cannot be made from stable Rust without making
 * the application's own definition lose (shared/notes/rust-stack.md §2).
 *
 * Time: a clock kept in RAM. It reads 0 until a server (or the application)
 * writes the time, then advances with lwm2m_os_uptime_ms(). An application
 * with a real clock overrides all seven time functions together.
 */

#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <lwm2m_carrier.h>
#include <lwm2m_os.h>

#define WEAK __attribute__((weak))

#define TZ_MAX_LEN 64

static int32_t time_base;        /* UTC seconds at time_base_uptime_ms */
static int64_t time_base_uptime_ms;
static int utc_offset_min;
static char timezone[TZ_MAX_LEN + 1] = "Etc/UTC";

WEAK int lwm2m_carrier_event_handler(const lwm2m_carrier_event_t *event)
{
	(void)event;
	return 0;
}

WEAK int lwm2m_carrier_memory_free_read(void)
{
	return 0;
}

WEAK int32_t lwm2m_carrier_utc_time_read(void)
{
	if (time_base == 0) {
		return 0;
	}
	/* Seconds since the time was set, in 32-bit steps: a 64-bit division
	 * would pull the soft divider (about 1 KB) into the image. */
	int64_t ms = lwm2m_os_uptime_ms() - time_base_uptime_ms;
	int64_t now = time_base;

	while (ms >= 1000000) {
		now += 1000;
		ms -= 1000000;
	}
	now += (int64_t)((uint32_t)ms / 1000u);

	return now > INT32_MAX ? INT32_MAX : (int32_t)now;
}

WEAK int lwm2m_carrier_utc_offset_read(void)
{
	return utc_offset_min;
}

WEAK const char *lwm2m_carrier_timezone_read(void)
{
	return timezone;
}

WEAK void lwm2m_carrier_time_read(int32_t *utc_time, int *utc_offset, const char **tz)
{
	if (utc_time) {
		*utc_time = lwm2m_carrier_utc_time_read();
	}
	if (utc_offset) {
		*utc_offset = lwm2m_carrier_utc_offset_read();
	}
	if (tz) {
		*tz = lwm2m_carrier_timezone_read();
	}
}

WEAK int lwm2m_carrier_utc_time_write(int32_t time)
{
	if (time < 0) {
		return -22; /* -EINVAL */
	}
	time_base = time;
	time_base_uptime_ms = lwm2m_os_uptime_ms();
	return 0;
}

WEAK int lwm2m_carrier_utc_offset_write(int offset)
{
	if (offset < -720 || offset > 840) {
		return -22; /* -EINVAL */
	}
	utc_offset_min = offset;
	return 0;
}

WEAK int lwm2m_carrier_timezone_write(const char *tz)
{
	if (tz == NULL || tz[0] == '\0') {
		return -22; /* -EINVAL */
	}
	size_t n = strlen(tz);

	if (n > TZ_MAX_LEN) {
		n = TZ_MAX_LEN; /* truncated to 64 characters, as the original */
	}
	memcpy(timezone, tz, n);
	timezone[n] = '\0';
	return 0;
}
