/*
 * Copyright (c) 2026 The lwm2m_carrier authors
 * SPDX-License-Identifier: Apache-2.0
 *
 * LwM2M carrier sample: prints every event of the carrier library, like the
 * nRF Connect SDK v1.4 sample, and keeps the Device object current through the
 * setters. The carrier thread is started by the platform glue (Zephyr: at
 * boot; host: before main), exactly as with Nordic's library.
 */

#include <stdint.h>
#include <lwm2m_carrier.h>

#ifdef __ZEPHYR__
#include <zephyr.h>
#else
#include <stdio.h>
#define printk printf
#endif

#if defined(CONFIG_BSD_LIBRARY)
#include <bsd.h>

/* Called by bsdlib on an irrecoverable modem error. */
void bsd_recoverable_error_handler(uint32_t err)
{
	printk("bsdlib recoverable error: %u\n", (unsigned int)err);
}
#endif

static void print_err(const lwm2m_carrier_event_t *evt)
{
	const lwm2m_carrier_event_error_t *err = evt->data;
	static const char *const strerr[] = {
		[LWM2M_CARRIER_ERROR_NO_ERROR] = "No error",
		[LWM2M_CARRIER_ERROR_BOOTSTRAP] = "Bootstrap error",
		[LWM2M_CARRIER_ERROR_CONNECT_FAIL] = "Failed to connect to the LTE network",
		[LWM2M_CARRIER_ERROR_DISCONNECT_FAIL] = "Failed to disconnect from the LTE network",
		[LWM2M_CARRIER_ERROR_FOTA_PKG] = "Package refused from modem",
		[LWM2M_CARRIER_ERROR_FOTA_PROTO] = "Protocol error",
		[LWM2M_CARRIER_ERROR_FOTA_CONN] = "Connection to remote server failed",
		[LWM2M_CARRIER_ERROR_FOTA_CONN_LOST] = "Connection to remote server lost",
		[LWM2M_CARRIER_ERROR_FOTA_FAIL] = "Modem firmware update failed",
	};
	const char *text = err->code < sizeof(strerr) / sizeof(strerr[0]) && strerr[err->code]
				   ? strerr[err->code] : "Unknown error";

	printk("%s, reason %d\n", text, (int)err->value);
}

static void print_deferred(const lwm2m_carrier_event_t *evt)
{
	const lwm2m_carrier_event_deferred_t *def = evt->data;
	static const char *const strdef[] = {
		[LWM2M_CARRIER_DEFERRED_NO_REASON] = "No reason given",
		[LWM2M_CARRIER_DEFERRED_PDN_ACTIVATE] = "Failed to activate PDN",
		[LWM2M_CARRIER_DEFERRED_BOOTSTRAP_NO_ROUTE] = "No route to bootstrap server",
		[LWM2M_CARRIER_DEFERRED_BOOTSTRAP_CONNECT] = "Failed to connect to bootstrap server",
		[LWM2M_CARRIER_DEFERRED_BOOTSTRAP_SEQUENCE] = "Bootstrap sequence not completed",
		[LWM2M_CARRIER_DEFERRED_SERVER_NO_ROUTE] = "No route to server",
		[LWM2M_CARRIER_DEFERRED_SERVER_CONNECT] = "Failed to connect to server",
		[LWM2M_CARRIER_DEFERRED_SERVER_REGISTRATION] = "Server registration sequence not completed",
	};
	const char *text = def->reason < sizeof(strdef) / sizeof(strdef[0]) && strdef[def->reason]
				   ? strdef[def->reason] : "Unknown reason";

	printk("Reason: %s, timeout: %d seconds\n", text, (int)def->timeout);
}

/* Device values this sample reports (a battery-powered board with DC input). */
static void device_values_set(void)
{
	static const uint8_t sources[] = {
		LWM2M_CARRIER_POWER_SOURCE_DC,
		LWM2M_CARRIER_POWER_SOURCE_INTERNAL_BATTERY,
	};

	(void)lwm2m_carrier_avail_power_sources_set(sources, sizeof(sources));
	(void)lwm2m_carrier_power_source_voltage_set(LWM2M_CARRIER_POWER_SOURCE_DC, 5000);
	(void)lwm2m_carrier_power_source_voltage_set(LWM2M_CARRIER_POWER_SOURCE_INTERNAL_BATTERY, 3700);
	(void)lwm2m_carrier_power_source_current_set(LWM2M_CARRIER_POWER_SOURCE_DC, 120);
	(void)lwm2m_carrier_power_source_current_set(LWM2M_CARRIER_POWER_SOURCE_INTERNAL_BATTERY, 80);
	(void)lwm2m_carrier_battery_level_set(87);
	(void)lwm2m_carrier_battery_status_set(LWM2M_CARRIER_BATTERY_STATUS_NORMAL);
	(void)lwm2m_carrier_memory_total_set(256);
	(void)lwm2m_carrier_error_code_add(LWM2M_CARRIER_ERROR_CODE_LOW_CHARGE);
	(void)lwm2m_carrier_device_type_set("Smart Device");
	(void)lwm2m_carrier_hardware_version_set("1.0-sample");
	(void)lwm2m_carrier_software_version_set("sample-1.0");
}

int lwm2m_carrier_event_handler(const lwm2m_carrier_event_t *event)
{
	switch (event->type) {
	case LWM2M_CARRIER_EVENT_BSDLIB_INIT:
		printk("LWM2M_CARRIER_EVENT_BSDLIB_INIT\n");
		break;
	case LWM2M_CARRIER_EVENT_CONNECTING:
		printk("LWM2M_CARRIER_EVENT_CONNECTING\n");
		break;
	case LWM2M_CARRIER_EVENT_CONNECTED:
		printk("LWM2M_CARRIER_EVENT_CONNECTED\n");
		break;
	case LWM2M_CARRIER_EVENT_DISCONNECTING:
		printk("LWM2M_CARRIER_EVENT_DISCONNECTING\n");
		break;
	case LWM2M_CARRIER_EVENT_DISCONNECTED:
		printk("LWM2M_CARRIER_EVENT_DISCONNECTED\n");
		break;
	case LWM2M_CARRIER_EVENT_BOOTSTRAPPED:
		printk("LWM2M_CARRIER_EVENT_BOOTSTRAPPED\n");
		break;
	case LWM2M_CARRIER_EVENT_LTE_READY:
		printk("LWM2M_CARRIER_EVENT_LTE_READY\n");
		/* The Device object surely exists from here on (also with the original library). */
		device_values_set();
		break;
	case LWM2M_CARRIER_EVENT_REGISTERED:
		printk("LWM2M_CARRIER_EVENT_REGISTERED\n");
		break;
	case LWM2M_CARRIER_EVENT_DEFERRED:
		printk("LWM2M_CARRIER_EVENT_DEFERRED\n");
		print_deferred(event);
		break;
	case LWM2M_CARRIER_EVENT_FOTA_START:
		printk("LWM2M_CARRIER_EVENT_FOTA_START\n");
		break;
	case LWM2M_CARRIER_EVENT_REBOOT:
		printk("LWM2M_CARRIER_EVENT_REBOOT\n");
		break;
	case LWM2M_CARRIER_EVENT_ERROR:
		printk("LWM2M_CARRIER_EVENT_ERROR\n");
		print_err(event);
		break;
	default:
		printk("Unknown event %u\n", (unsigned int)event->type);
		break;
	}

	return 0;
}

int main(void)
{
	printk("LWM2M Carrier library sample.\n");
	return 0;
}
