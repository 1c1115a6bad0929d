/*
 * Copyright (c) 2026 The lwm2m_carrier authors
 * SPDX-License-Identifier: Apache-2.0
 */

/*
 * Host glue: does for a Linux process what the NCS glue (lwm2m_carrier.c)
 * does on Zephyr.
 *
 * - The real main(). The application's main() is compiled with
 *   -Dmain=lwm2m_app_main: on Zephyr the carrier thread starts at boot and a
 *   returning main() does not end the program, so here main() starts the
 *   carrier thread, runs lwm2m_app_main() and then joins the carrier thread.
 * - The carrier thread fills lwm2m_carrier_config_t from environment
 *   variables named like the Kconfig options (a value "y" enables a bool):
 *     CONFIG_LWM2M_CARRIER_CERTIFICATION_MODE=y
 *     CONFIG_LWM2M_CARRIER_USE_CUSTOM_BOOTSTRAP_URI=y
 *       + CONFIG_LWM2M_CARRIER_CUSTOM_BOOTSTRAP_URI=coaps://host:5684
 *     CONFIG_LWM2M_CARRIER_USE_CUSTOM_BOOTSTRAP_PSK=y
 *       + CONFIG_LWM2M_CARRIER_CUSTOM_BOOTSTRAP_PSK=<hex>
 *   then calls lwm2m_carrier_init() and lwm2m_carrier_run().
 *
 * Exit status: 2 lwm2m_carrier_init() failed; 3 lwm2m_carrier_run() returned
 * (fatal error or vetoed reboot); 64 the library asked for a reboot
 * (lwm2m_os_reboot(): run the program again on the same storage); otherwise
 * the value returned by the application's main().
 */

#include <pthread.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <lwm2m_carrier.h>
#include <lwm2m_os.h>

#define EXIT_INIT_FAILED 2
#define EXIT_RUN_RETURNED 3

/* The application's main(), renamed by -Dmain=lwm2m_app_main. */
int lwm2m_app_main(void);

/* The weak lwm2m_carrier_event_handler() and the other weak defaults are in
 * glue/lwm2m_carrier_defaults.c, shared with the Zephyr glue. */

/* A bool Kconfig option: set when the variable is "y". */
static bool kconfig_bool(const char *name)
{
	const char *value = getenv(name);

	return value != NULL && strcmp(value, "y") == 0;
}

/* A string Kconfig option: the variable's value without surrounding double
 * quotes (as in a .config file), "" when unset (the Kconfig default).
 * The copy is never freed: the library keeps the pointer. */
static const char *kconfig_string(const char *name)
{
	const char *value = getenv(name);
	size_t len;
	char *copy;

	if (value == NULL) {
		return "";
	}
	len = strlen(value);
	if (len >= 2 && value[0] == '"' && value[len - 1] == '"') {
		value++;
		len -= 2;
	}
	copy = malloc(len + 1);
	if (copy == NULL) {
		return "";
	}
	memcpy(copy, value, len);
	copy[len] = '\0';
	return copy;
}

static void *carrier_thread(void *arg)
{
	/* Static: the library keeps the configuration's pointers. */
	static lwm2m_carrier_config_t config;
	char msg[64];
	int err;

	(void)arg;
	config.certification_mode = kconfig_bool("CONFIG_LWM2M_CARRIER_CERTIFICATION_MODE");
	if (kconfig_bool("CONFIG_LWM2M_CARRIER_USE_CUSTOM_BOOTSTRAP_URI")) {
		config.bootstrap_uri = kconfig_string("CONFIG_LWM2M_CARRIER_CUSTOM_BOOTSTRAP_URI");
	}
	if (kconfig_bool("CONFIG_LWM2M_CARRIER_USE_CUSTOM_BOOTSTRAP_PSK")) {
		config.psk = kconfig_string("CONFIG_LWM2M_CARRIER_CUSTOM_BOOTSTRAP_PSK");
	}

	err = lwm2m_carrier_init(&config);
	if (err != 0) {
		snprintf(msg, sizeof(msg), "lwm2m_carrier_init() failed: %d", err);
		lwm2m_os_log(LWM2M_OS_LOG_LEVEL_ERR, msg);
		fflush(NULL);
		exit(EXIT_INIT_FAILED);
	}

	lwm2m_carrier_run();

	lwm2m_os_log(LWM2M_OS_LOG_LEVEL_ERR, "lwm2m_carrier_run() returned");
	fflush(NULL);
	exit(EXIT_RUN_RETURNED);
	return NULL;
}

int main(void)
{
	pthread_t carrier;
	int err;
	int ret;

	/* A parent process reading our stdout through a pipe sees each event
	 * line as it is printed. */
	setvbuf(stdout, NULL, _IOLBF, 0);
	/* Uptime counts from here: "boot". */
	(void)lwm2m_os_uptime_ms();

	err = pthread_create(&carrier, NULL, carrier_thread, NULL);
	if (err != 0) {
		fprintf(stderr, "cannot start the carrier thread: %s\n", strerror(err));
		return EXIT_FAILURE;
	}

	ret = lwm2m_app_main();

	pthread_join(carrier, NULL);
	return ret;
}
