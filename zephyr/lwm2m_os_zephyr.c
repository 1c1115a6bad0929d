/*
 * Copyright (c) 2026 The lwm2m_carrier authors
 * SPDX-License-Identifier: Apache-2.0
 */

/*
 * The lwm2m_os.h port for Zephyr 2.4 / nRF Connect SDK v1.4.x on the nRF9160.
 *
 * Every function of include/lwm2m_os.h, on the NCS v1.4 APIs: a heap of its
 * own (K_HEAP_DEFINE), the kernel clock, a k_sem and poll() for waiting, a
 * k_mutex (priority inheritance) for the library lock, sys_reboot(), the
 * entropy driver, the logging subsystem, NVS on a flash partition of its
 * own, bsdlib, the AT command and notification libraries (credentials with
 * AT%CMNG) and the nrf91 offloaded sockets. Zephyr / NCS error codes are
 * translated to the LWM2M_OS_E* codes here; nothing Zephyr-specific crosses
 * the contract.
 *
 * Waking (lwm2m_os_wake) and its latency bound:
 *   With no socket open, lwm2m_os_wait() blocks on a semaphore and a wake
 *   is immediate. With sockets open it must also notice incoming datagrams,
 *   and the only way to wait for those is poll() on the offloaded sockets.
 *   That poll cannot be interrupted by another thread: nrf91_sockets.c hands
 *   the whole call to bsdlib's nrf_poll(), which sleeps in bsd_os_timedwait()
 *   on a semaphore private to the call. Only the modem's RPC interrupt gives
 *   it, and nrf_poll() goes back to sleep unless a polled socket changed
 *   (no eventfd or other Zephyr object can be mixed into the poll set: the
 *   offload marks non-offloaded descriptors POLLNVAL). So while sockets are
 *   open, lwm2m_os_wait() polls in slices of LWM2M_OS_ZEPHYR_POLL_SLICE_MS
 *   and checks the wake semaphore between slices:
 *       a wake is noticed at most LWM2M_OS_ZEPHYR_POLL_SLICE_MS (2 s by default)
 *       late, plus scheduling delay; data is noticed at once.
 *   lwm2m_os_udp_open() (DNS + DTLS handshake), lwm2m_os_at_cmd() and the
 *   credential calls block inside bsdlib / the modem and are not
 *   interruptible either; their duration is set by the modem.
 *
 * Limits: at most LWM2M_OS_ZEPHYR_MAX_SOCKETS (4) sockets, each taking a
 * Zephyr file descriptor (checked against CONFIG_POSIX_MAX_FDS at build
 * time); unsolicited AT notifications other than those the library reads
 * (+CEREG) are not passed on, and lines longer than
 * LWM2M_OS_ZEPHYR_NOTIF_LINE_MAX (160, the library's limit) are dropped
 * with a log line.
 *
 * No printf-family or float code here: they cost kilobytes of flash.
 */

#include <zephyr.h>
#include <errno.h>
#include <string.h>
#include <devicetree.h>
#include <drivers/flash.h>
#include <fs/nvs.h>
#include <logging/log.h>
#include <logging/log_ctrl.h>
#include <modem/at_cmd.h>
#include <modem/at_notif.h>
#include <modem/bsdlib.h>
#include <net/socket.h>
#include <net/tls_credentials.h>
#include <power/reboot.h>
#include <random/rand32.h>

#include <lwm2m_os.h>

LOG_MODULE_REGISTER(lwm2m_carrier, CONFIG_LWM2M_CARRIER_LOG_LEVEL);

#ifndef LWM2M_OS_ZEPHYR_POLL_SLICE_MS
/** Longest single poll() while sockets are open: the wake latency bound
 *  (CONFIG_LWM2M_CARRIER_WAKE_LATENCY_MS, default 2 s). */
#ifdef CONFIG_LWM2M_CARRIER_WAKE_LATENCY_MS
#define LWM2M_OS_ZEPHYR_POLL_SLICE_MS CONFIG_LWM2M_CARRIER_WAKE_LATENCY_MS
#else
#define LWM2M_OS_ZEPHYR_POLL_SLICE_MS 2000
#endif
#endif

/** Sockets open at a time (lwm2m_os.h: at most 4). */
#define LWM2M_OS_ZEPHYR_MAX_SOCKETS 4

/** Longest AT notification line passed to the library, without its NUL:
 *  the library's own limit (src/limits.rs AT_NOTIF_LEN), which drops longer
 *  ones. */
#define LWM2M_OS_ZEPHYR_NOTIF_LINE_MAX 160

/*
 * File descriptors: every offloaded socket takes one from Zephyr's table
 * (nrf91_socket_create() -> z_reserve_fd(), which fails with ENFILE), and so
 * does the AT command socket of at_cmd. With POSIX_API, stdin, stdout and
 * stderr take the first three. The module's Kconfig raises the default;
 * a configuration with fewer is refused here rather than failing at run time
 * when the third server connects.
 */
#define LWM2M_OS_ZEPHYR_FDS_NEEDED \
	(1 + LWM2M_OS_ZEPHYR_MAX_SOCKETS + (IS_ENABLED(CONFIG_POSIX_API) ? 3 : 0))
BUILD_ASSERT(CONFIG_POSIX_MAX_FDS >= LWM2M_OS_ZEPHYR_FDS_NEEDED,
	     "lwm2m_carrier needs CONFIG_POSIX_MAX_FDS >= 5 (8 with POSIX_API): "
	     "the AT socket and 4 LwM2M sockets, plus stdio with POSIX_API");

/* ------------------------------------------------------------------------ */
/* Error translation                                                         */

/* Negative LWM2M_OS_E* code for a Zephyr / NCS errno value (positive). The
 * classic codes are the same numbers in newlib, but are matched by name so
 * that the port does not depend on the C library's numbering.
 */
static int os_err(int err, int otherwise)
{
	switch (err) {
	case EPERM:
		return -LWM2M_OS_EPERM;
	case ENOENT:
		return -LWM2M_OS_ENOENT;
	case EIO:
		return -LWM2M_OS_EIO;
	case EBADF:
		return -LWM2M_OS_EBADF;
	case EAGAIN:
		return -LWM2M_OS_EAGAIN;
	case ENOMEM:
	case ENOBUFS:
	case EMFILE:
	case ENFILE:
		return -LWM2M_OS_ENOMEM;
	case EACCES:
		return -LWM2M_OS_EACCES;
	case EINVAL:
		return -LWM2M_OS_EINVAL;
	case ENOSPC:
		return -LWM2M_OS_ENOSPC;
	default:
		return -otherwise;
	}
}

/* ------------------------------------------------------------------------ */
/* Heap                                                                      */

/*
 * The library's heap is its own: CONFIG_LWM2M_CARRIER_HEAP_SIZE bytes
 * reserved at build time (in .bss), so neither does the library starve the
 * system heap that NCS allocates from (at_notif, getaddrinfo(), the
 * application's k_malloc()), nor can they starve the library. k_heap locks
 * with a spinlock: the AT thread and application threads allocate too (the
 * notification queue, setters) and may interrupt the carrier thread.
 *
 * Alignment: the contract promises 8 (Rust's allocator relies on it). On
 * Zephyr 2.4, sys_heap puts a block's memory right after its chunk header,
 * which is 4 bytes on heaps below 256 KiB, in 8-byte chunks from an 8-byte
 * aligned start: k_heap_alloc() returns addresses that are 4 modulo 8.
 * (sys_heap_aligned_alloc() is not used: in 2.4 it sizes the block from the
 * chunk start, so an aligned block can end up to 4 bytes short.) So each
 * block is asked 4 bytes larger; they hold the requested size, and the
 * library gets the 8-aligned address after them.
 */
#define HEAP_PREFIX 4       /* our size word before the library's block */
#define HEAP_CHUNK_HEADER 4 /* sys_heap's, on a heap below 256 KiB */
#define HEAP_CHUNK 8

BUILD_ASSERT(CONFIG_LWM2M_CARRIER_HEAP_SIZE / HEAP_CHUNK <= 0x7fff,
	     "lwm2m_carrier: a heap of 256 KiB or more has 8-byte chunk headers");

K_HEAP_DEFINE(lwm2m_carrier_heap, CONFIG_LWM2M_CARRIER_HEAP_SIZE);

/* Bytes of the heap in use (chunk sizes) and the most ever in use. */
static atomic_t heap_used;
static atomic_t heap_peak;

/* Heap bytes a block of size bytes takes: the chunk header, our prefix and
 * the block, in whole chunks. */
static size_t heap_footprint(size_t size)
{
	return ROUND_UP(HEAP_CHUNK_HEADER + HEAP_PREFIX + size, HEAP_CHUNK);
}

void *lwm2m_os_malloc(size_t size)
{
	uint8_t *raw = NULL;

	if (size <= CONFIG_LWM2M_CARRIER_HEAP_SIZE) {
		/* Never waits: K_NO_WAIT, NULL when no block is free. */
		raw = k_heap_alloc(&lwm2m_carrier_heap, HEAP_PREFIX + size, K_NO_WAIT);
	}
	if (raw == NULL) {
		LOG_ERR("heap: no block of %u bytes (%u of %u bytes in use, "
			"CONFIG_LWM2M_CARRIER_HEAP_SIZE)", (unsigned int)size,
			(unsigned int)atomic_get(&heap_used),
			(unsigned int)CONFIG_LWM2M_CARRIER_HEAP_SIZE);
		return NULL;
	}
	if (((uintptr_t)raw & (HEAP_CHUNK - 1)) != HEAP_PREFIX) {
		/* Not the Zephyr 2.4 sys_heap layout described above. */
		k_heap_free(&lwm2m_carrier_heap, raw);
		LOG_ERR("heap: block at %p is not 4 modulo 8", (void *)raw);
		return NULL;
	}

	*(uint32_t *)raw = (uint32_t)size;

	atomic_val_t chunk = (atomic_val_t)heap_footprint(size);
	atomic_val_t used = atomic_add(&heap_used, chunk) + chunk;
	atomic_val_t peak = atomic_get(&heap_peak);

	while (used > peak) {
		if (atomic_cas(&heap_peak, peak, used)) {
			/* At debug level: how much of the heap the library needs. */
			if (used / 512 != peak / 512) {
				LOG_DBG("heap: peak %d of %d bytes", (int)used,
					CONFIG_LWM2M_CARRIER_HEAP_SIZE);
			}
			break;
		}
		peak = atomic_get(&heap_peak);
	}

	return raw + HEAP_PREFIX;
}

void lwm2m_os_free(void *ptr)
{
	if (ptr == NULL) {
		return;
	}

	uint8_t *raw = (uint8_t *)ptr - HEAP_PREFIX;
	size_t size = *(uint32_t *)raw;

	(void)atomic_sub(&heap_used, (atomic_val_t)heap_footprint(size));
	k_heap_free(&lwm2m_carrier_heap, raw);
}

/* ------------------------------------------------------------------------ */
/* Time, waiting and waking                                                  */

static K_SEM_DEFINE(wake_sem, 0, 1);
static K_MUTEX_DEFINE(carrier_lock);

/* Open sockets: Zephyr descriptors, -1 where free. The handle is the index.
 * Touched only by the carrier thread (lwm2m_os.h), so not locked.
 */
static int socket_fds[LWM2M_OS_ZEPHYR_MAX_SOCKETS] = { -1, -1, -1, -1 };
/* Whether the socket at that index is DTLS (an empty read is then EOF). */
static bool socket_secure[LWM2M_OS_ZEPHYR_MAX_SOCKETS];

/*
 * Sockets poll() reported broken (POLLERR, POLLHUP or POLLNVAL).
 *
 * lwm2m_os.h has one way to report a broken connection: lwm2m_os_wait()
 * returns 0 ("data may be ready") and lwm2m_os_udp_recv() then returns a
 * negative code other than EAGAIN (ECONNLOST). The modem's error state is
 * sticky, but recv() on such a socket may still say EAGAIN (nothing
 * queued): passed on as such, the library would wait again, poll() would
 * return at once with the same revents, and the carrier thread would spin.
 * So the error is remembered here, reported as readable once, and recv
 * returns ECONNLOST once no datagram is left; the socket is left out of
 * later polls until the library closes it.
 */
enum socket_fault {
	SOCKET_OK,
	SOCKET_FAULT_PENDING,  /* seen by poll(), not yet reported by recv */
	SOCKET_FAULT_REPORTED, /* recv returned ECONNLOST */
};
static uint8_t socket_fault[LWM2M_OS_ZEPHYR_MAX_SOCKETS];

int64_t lwm2m_os_uptime_ms(void)
{
	return k_uptime_get();
}

void lwm2m_os_wake(void)
{
	k_sem_give(&wake_sem);
}

/* The poll set: open sockets without a known fault. handles[] maps each
 * entry back to its handle. Returns the count, or -1 if a fault is still
 * to be reported (the caller returns at once).
 */
static int open_socket_pollfds(struct zsock_pollfd *fds, uint8_t *handles)
{
	int count = 0;

	for (int i = 0; i < LWM2M_OS_ZEPHYR_MAX_SOCKETS; i++) {
		if (socket_fds[i] < 0) {
			continue;
		}
		if (socket_fault[i] == SOCKET_FAULT_PENDING) {
			return -1;
		}
		if (socket_fault[i] == SOCKET_OK) {
			fds[count].fd = socket_fds[i];
			fds[count].events = ZSOCK_POLLIN;
			fds[count].revents = 0;
			handles[count] = (uint8_t)i;
			count++;
		}
	}

	return count;
}

/* After a poll() that returned > 0: note the sockets in error. */
static void note_socket_faults(const struct zsock_pollfd *fds, const uint8_t *handles,
			       int count)
{
	for (int i = 0; i < count; i++) {
		short err = fds[i].revents & (ZSOCK_POLLERR | ZSOCK_POLLHUP | ZSOCK_POLLNVAL);

		if (err == 0) {
			continue;
		}

		int so_error = 0;
		socklen_t len = sizeof(so_error);

		if ((err & ZSOCK_POLLNVAL) == 0) {
			(void)zsock_getsockopt(fds[i].fd, SOL_SOCKET, SO_ERROR, &so_error, &len);
		}
		LOG_WRN("socket %u: poll revents 0x%x, error %d: connection lost",
			handles[i], (unsigned int)fds[i].revents, so_error);
		socket_fault[handles[i]] = SOCKET_FAULT_PENDING;
	}
}

int lwm2m_os_wait(int32_t timeout_ms)
{
	struct zsock_pollfd fds[LWM2M_OS_ZEPHYR_MAX_SOCKETS];
	uint8_t handles[LWM2M_OS_ZEPHYR_MAX_SOCKETS];
	int count = open_socket_pollfds(fds, handles);

	if (count < 0) {
		return 0; /* a broken socket to report: see socket_fault */
	}
	if (count == 0) {
		k_timeout_t timeout = timeout_ms < 0 ? K_FOREVER : K_MSEC(timeout_ms);

		return k_sem_take(&wake_sem, timeout) == 0 ? 0 : 1;
	}

	/* poll() cannot be interrupted: poll in slices, see the file comment. */
	int64_t start = k_uptime_get();

	for (;;) {
		if (k_sem_take(&wake_sem, K_NO_WAIT) == 0) {
			return 0;
		}

		int32_t slice = LWM2M_OS_ZEPHYR_POLL_SLICE_MS;

		if (timeout_ms >= 0) {
			int64_t left = (int64_t)timeout_ms - (k_uptime_get() - start);

			if (left <= 0) {
				return 1;
			}
			if (left < slice) {
				slice = (int32_t)left;
			}
		}

		int ready = zsock_poll(fds, count, slice);

		if (ready > 0) {
			note_socket_faults(fds, handles, count);
			return 0;
		}
		if (ready < 0) {
			/* E.g. the modem library is shut down. Do not spin: sleep
			 * the slice on the wake semaphore instead.
			 */
			if (k_sem_take(&wake_sem, K_MSEC(slice)) == 0) {
				return 0;
			}
		}
	}
}

void lwm2m_os_lock(void)
{
	(void)k_mutex_lock(&carrier_lock, K_FOREVER);
}

void lwm2m_os_unlock(void)
{
	(void)k_mutex_unlock(&carrier_lock);
}

/* ------------------------------------------------------------------------ */
/* System                                                                    */

void lwm2m_os_reboot(void)
{
	/* Deferred logging: write out what is still queued (the reason for
	 * the reboot, usually) before the reset discards it.
	 */
	LOG_PANIC();
	sys_reboot(SYS_REBOOT_COLD);
	CODE_UNREACHABLE;
}

int lwm2m_os_rand(void *buf, size_t len)
{
#if defined(CONFIG_HARDWARE_DEVICE_CS_GENERATOR) || defined(CONFIG_CTR_DRBG_CSPRNG_GENERATOR)
	return sys_csrand_get(buf, len) == 0 ? 0 : -LWM2M_OS_EIO;
#else
	sys_rand_get(buf, len);
	return 0;
#endif
}

/* ------------------------------------------------------------------------ */
/* Logging                                                                   */

/*
 * Deferred logging keeps only pointers, so each line is copied with
 * log_strdup() into one of CONFIG_LOG_STRDUP_BUF_COUNT buffers of
 * CONFIG_LOG_STRDUP_MAX_STRING characters (the module's Kconfig raises
 * Zephyr's defaults of 4 x 46 to 8 x 128: the library's lines run to 119
 * characters). A longer line is cut, ending in '~'. When every buffer is
 * still waiting for the log thread, log_strdup() returns its
 * "<log_strdup alloc failed>" text instead of a copy: an error or warning
 * then goes out at once through printk() rather than being lost.
 *
 * The copy is made inside the LOG_* arguments, which Zephyr evaluates only
 * for a message it will keep (compile-time and run-time level filters): a
 * copy made for a filtered message would never be freed.
 */
static const char strdup_failed[] = "<log_strdup alloc failed>";

static const char *log_copy(const char *msg, const char *level)
{
	const char *copy = log_strdup(msg);

	if (copy != msg && strncmp(copy, strdup_failed, sizeof(strdup_failed) - 1) == 0 &&
	    strncmp(msg, strdup_failed, sizeof(strdup_failed) - 1) != 0) {
		printk("<%s> lwm2m_carrier: %s\n", level, msg);
		return "(printed at once: log_strdup buffers full)";
	}
	return copy;
}

void lwm2m_os_log(int level, const char *msg)
{
	switch (level) {
	case LWM2M_OS_LOG_LEVEL_ERR:
		LOG_ERR("%s", log_copy(msg, "err"));
		break;
	case LWM2M_OS_LOG_LEVEL_WRN:
		LOG_WRN("%s", log_copy(msg, "wrn"));
		break;
	case LWM2M_OS_LOG_LEVEL_INF:
		LOG_INF("%s", log_strdup(msg));
		break;
	case LWM2M_OS_LOG_LEVEL_DBG:
		LOG_DBG("%s", log_strdup(msg));
		break;
	default:
		break;
	}
}

/* ------------------------------------------------------------------------ */
/* Non-volatile storage: NVS on a flash partition of the module's own       */

/*
 * Where: with the partition manager (every NCS build for the nRF9160 NS),
 * the partition "lwm2m_carrier_storage" that the module's CMakeLists.txt
 * adds, CONFIG_LWM2M_CARRIER_STORAGE_SIZE bytes that no other NVS or
 * settings user shares. (The original library used the first 3 pages of
 * the devicetree partition labelled "storage", which the partition manager
 * knows as nvs_storage and also hands to the application.) Without the
 * partition manager: the start of the devicetree "storage" partition, up to
 * that size.
 *
 * How much: see the help of CONFIG_LWM2M_CARRIER_STORAGE_SIZE (10 pages of
 * 4 KiB for 8 records of up to 2 KiB).
 */
#define STORAGE_SECTOR_SIZE DT_PROP(DT_CHOSEN(zephyr_flash), erase_block_size)

#if defined(USE_PARTITION_MANAGER) && USE_PARTITION_MANAGER
#include <pm_config.h>
#ifndef PM_LWM2M_CARRIER_STORAGE_ADDRESS
#error "lwm2m_carrier: no partition lwm2m_carrier_storage in pm_config.h (see CMakeLists.txt)"
#endif
#define STORAGE_OFFSET PM_LWM2M_CARRIER_STORAGE_ADDRESS
#define STORAGE_SIZE PM_LWM2M_CARRIER_STORAGE_SIZE
#define STORAGE_DEV_NAME PM_LWM2M_CARRIER_STORAGE_DEV_NAME
#else
#if !DT_HAS_FIXED_PARTITION_LABEL(storage)
#error "lwm2m_carrier needs the partition manager or a fixed flash partition labelled \"storage\""
#endif
#define STORAGE_NODE DT_NODE_BY_FIXED_PARTITION_LABEL(storage)
#define STORAGE_OFFSET DT_REG_ADDR(STORAGE_NODE)
#define STORAGE_SIZE MIN(DT_REG_SIZE(STORAGE_NODE), CONFIG_LWM2M_CARRIER_STORAGE_SIZE)
#define STORAGE_DEV_NAME DT_CHOSEN_ZEPHYR_FLASH_CONTROLLER_LABEL
#endif

#define STORAGE_SECTOR_COUNT (STORAGE_SIZE / STORAGE_SECTOR_SIZE)

BUILD_ASSERT(STORAGE_SIZE % STORAGE_SECTOR_SIZE == 0,
	     "lwm2m_carrier: storage is not a whole number of flash pages");
BUILD_ASSERT(STORAGE_SECTOR_COUNT >= 3,
	     "lwm2m_carrier: storage needs at least 3 flash pages");

static struct nvs_fs storage = {
	.sector_size = STORAGE_SECTOR_SIZE,
	.sector_count = STORAGE_SECTOR_COUNT,
	.offset = STORAGE_OFFSET,
};

/* Erase the whole storage area (nvs_clear() needs a mounted file system). */
static int storage_erase(void)
{
	const struct device *flash = device_get_binding(STORAGE_DEV_NAME);

	if (flash == NULL) {
		return -ENXIO;
	}

	int err = flash_write_protection_set(flash, false);

	if (err == 0) {
		err = flash_erase(flash, STORAGE_OFFSET, STORAGE_SIZE);
		(void)flash_write_protection_set(flash, true);
	}
	return err;
}

/*
 * Mount NVS. nvs_init() refuses flash that does not hold a valid NVS of
 * this geometry: -EDEADLK when every page looks closed (foreign data, or an
 * NVS of another page count or offset), -ESPIPE for a corrupt last entry,
 * or a flash error. Such content can never become readable and would fail
 * every boot, so the area is erased and NVS mounted again, losing the
 * stored state (the library then bootstraps anew). -ENXIO (no flash
 * device) and -EINVAL (bad geometry) are build problems, not data: no
 * erase for those.
 */
static int storage_init(void)
{
	int err = nvs_init(&storage, STORAGE_DEV_NAME);

	if (err == 0 || err == -ENXIO || err == -EINVAL) {
		return err;
	}

	LOG_ERR("storage at 0x%x (%u bytes) unreadable (nvs_init %d): erasing it, "
		"the stored state is lost", (unsigned int)STORAGE_OFFSET,
		(unsigned int)STORAGE_SIZE, err);

	int erase = storage_erase();

	if (erase != 0) {
		LOG_ERR("storage erase failed: %d", erase);
		return erase;
	}
	return nvs_init(&storage, STORAGE_DEV_NAME);
}

static bool storage_id_valid(uint16_t id)
{
	return id >= LWM2M_OS_STORAGE_BASE && id <= LWM2M_OS_STORAGE_END;
}

int lwm2m_os_storage_read(uint16_t id, void *buf, size_t len)
{
	if (!storage_id_valid(id)) {
		return -LWM2M_OS_EINVAL;
	}

	/* nvs_read() returns the record's full length, as the contract. */
	ssize_t ret = nvs_read(&storage, id, buf, len);

	return ret >= 0 ? (int)ret : os_err((int)-ret, LWM2M_OS_EIO);
}

int lwm2m_os_storage_write(uint16_t id, const void *buf, size_t len)
{
	if (!storage_id_valid(id)) {
		return -LWM2M_OS_EINVAL;
	}

	/* len, or 0 when the stored record is identical (NVS semantics). */
	ssize_t ret = nvs_write(&storage, id, buf, len);

	return ret >= 0 ? (int)ret : os_err((int)-ret, LWM2M_OS_EIO);
}

int lwm2m_os_storage_delete(uint16_t id)
{
	if (!storage_id_valid(id)) {
		return -LWM2M_OS_EINVAL;
	}

	int ret = nvs_delete(&storage, id);

	return ret >= 0 ? 0 : os_err(-ret, LWM2M_OS_EIO);
}

/* ------------------------------------------------------------------------ */
/* Initialisation                                                            */

int lwm2m_os_init(void)
{
	int err = storage_init();

	if (err != 0) {
		LOG_ERR("storage: nvs_init() failed: %d", err);
		return -LWM2M_OS_EIO;
	}

	return 0;
}

/* ------------------------------------------------------------------------ */
/* Modem: bsdlib and AT commands                                             */

static lwm2m_os_at_notif_handler_t notif_handler;
static bool at_ready;
static bool notif_registered;

/*
 * Which notifications the library reads (src/modem/: parse_cereg_notif(),
 * the only notification parser; everything else it learns by asking). The
 * modem also sends +CGEV (enabled by the library's AT+CGEREP=1), +CNEC_ESM
 * (AT+CNEC=16), +CSCON, %XSIM and what the application subscribes to; the
 * library's queue holds 8 lines and 640 bytes (src/limits.rs AT_NOTIF_QUEUE,
 * AT_NOTIF_BYTES), so a burst
 * of those would push out the +CEREG that matters. Only lines starting
 * with one of these prefixes are passed on.
 */
static const char *const notif_prefixes[] = {
	"+CEREG:",
};

static bool notif_wanted(const char *line)
{
	for (size_t i = 0; i < ARRAY_SIZE(notif_prefixes); i++) {
		size_t n = strlen(notif_prefixes[i]);

		if (strncmp(line, notif_prefixes[i], n) == 0) {
			return true;
		}
	}
	return false;
}

/* at_notif handler (AT command thread): one notification can hold several
 * "\r\n"-terminated lines; hand each wanted one over on its own,
 * NUL-terminated and without the line end, as the contract says. Only this
 * thread calls it, so one static line buffer does.
 */
static void at_notif_trampoline(void *context, const char *response)
{
	static char line[LWM2M_OS_ZEPHYR_NOTIF_LINE_MAX + 1];
	lwm2m_os_at_notif_handler_t handler = notif_handler;

	ARG_UNUSED(context);

	if (handler == NULL || response == NULL) {
		return;
	}

	const char *p = response;

	while (*p != '\0') {
		size_t len = 0;

		while (p[len] != '\0' && p[len] != '\r' && p[len] != '\n') {
			len++;
		}

		if (len > 0 && notif_wanted(p)) {
			if (len <= LWM2M_OS_ZEPHYR_NOTIF_LINE_MAX) {
				memcpy(line, p, len);
				line[len] = '\0';
				handler(line);
			} else {
				LOG_WRN("AT notification of %u characters (over %u) dropped",
					(unsigned int)len, LWM2M_OS_ZEPHYR_NOTIF_LINE_MAX);
			}
		}
		p += len;
		while (*p == '\r' || *p == '\n') {
			p++;
		}
	}
}

static int register_notif_trampoline(void)
{
	if (!at_ready || notif_registered || notif_handler == NULL) {
		return 0;
	}

	int err = at_notif_register_handler(NULL, at_notif_trampoline);

	if (err != 0) {
		LOG_ERR("at_notif_register_handler() failed: %d", err);
		return -LWM2M_OS_EIO;
	}

	notif_registered = true;
	return 0;
}

int lwm2m_os_modem_init(void)
{
	int ret = bsdlib_init();

	if (ret < 0) {
		LOG_ERR("bsdlib_init() failed: %d", ret);
		return -LWM2M_OS_EIO;
	}
	if (ret > 0) {
		/* A modem firmware update was applied (ret is the DFU result).
		 * The modem runs the new firmware only after the library is
		 * initialised again; do that, so the AT interface works, and
		 * report the result.
		 */
		LOG_INF("modem DFU result %d, restarting bsdlib", ret);
		(void)bsdlib_shutdown();
		int again = bsdlib_init();

		if (again != 0) {
			LOG_ERR("bsdlib_init() after DFU failed: %d", again);
			return -LWM2M_OS_EIO;
		}
	}

	/* With BSD_LIBRARY_SYS_INIT off, the AT libraries are not started at
	 * boot either. Both inits return 0 when already done.
	 */
	if (at_cmd_init() != 0 || at_notif_init() != 0) {
		LOG_ERR("AT command library init failed");
		return -LWM2M_OS_EIO;
	}

	at_ready = true;
	int err = register_notif_trampoline();

	return err != 0 ? err : ret;
}

int lwm2m_os_modem_shutdown(void)
{
	return bsdlib_shutdown() == 0 ? 0 : -LWM2M_OS_EIO;
}

int lwm2m_os_at_cmd(const char *cmd, char *resp, size_t resp_len)
{
	if (cmd == NULL || (resp == NULL && resp_len != 0)) {
		return -LWM2M_OS_EINVAL;
	}
	if (!at_ready) {
		/* at_cmd_write() would wait forever for the AT thread. */
		return -LWM2M_OS_EIO;
	}
	if (resp_len != 0) {
		resp[0] = '\0';
	}

	enum at_cmd_state state;
	int ret = at_cmd_write(cmd, resp_len != 0 ? resp : NULL, resp_len, &state);

	if (ret >= 0) {
		/* 0: OK; positive: the +CME / +CMS ERROR code. */
		return ret;
	}

	switch (-ret) {
	case ENOEXEC:
		return -LWM2M_OS_ENOEXEC; /* the modem said ERROR */
	case EMSGSIZE: /* the caller's buffer is too small */
	case ENOBUFS:  /* at_cmd's own buffer is too small */
		return -LWM2M_OS_ENOBUFS;
	case EINVAL:
		return -LWM2M_OS_EINVAL;
	default:
		return -LWM2M_OS_EIO;
	}
}

int lwm2m_os_at_notif_register(lwm2m_os_at_notif_handler_t handler)
{
	if (handler == NULL) {
		return -LWM2M_OS_EINVAL;
	}

	notif_handler = handler;
	/* Registered with at_notif now, or by lwm2m_os_modem_init(). */
	return register_notif_trampoline();
}

/* ------------------------------------------------------------------------ */
/* Credentials                                                               */

/*
 * AT%CMNG, sent by the glue itself rather than through NCS 1.4's
 * modem_key_mgmt. That library turns on +CME error codes (AT+CMEE=1) around
 * each command when they are off, but then returns the result of turning
 * them off again (0) instead of the command's: a rejected write, e.g.
 * "+CME ERROR: 518" while the link is up, reported success, and the
 * -EACCES of lwm2m_os.h never came back. It also asserts on CME codes it
 * does not know and keeps a 4 KiB command buffer. Here the command's own
 * result is kept, whatever restoring AT+CMEE returns.
 */

/* Longest credential accepted: the library's PSK (64 bytes, 128 in hex) and
 * identity (128 bytes) fit. */
#define CRED_MAX_LEN 256
/* "AT%CMNG=0,<sec_tag>,<type>,\"<content>\"" */
#define CRED_CMD_MAX (sizeof("AT%CMNG=0,4294967295,4,\"\"") + CRED_MAX_LEN)

/* Only the carrier thread uses the credential functions. */
static char cred_cmd[CRED_CMD_MAX];

/* nRF91 AT%CMNG +CME ERROR codes. */
#define CME_NOT_FOUND 513
#define CME_NO_ACCESS 514
#define CME_MEMORY_FULL 515
#define CME_NOT_ALLOWED_ACTIVE 518

static size_t put_str(char *out, size_t at, const char *s)
{
	size_t n = strlen(s);

	memcpy(out + at, s, n);
	return at + n;
}

static size_t put_uint(char *out, size_t at, uint32_t v)
{
	char digits[10];
	size_t n = 0;

	do {
		digits[n++] = (char)('0' + v % 10);
		v /= 10;
	} while (v != 0);
	while (n > 0) {
		out[at++] = digits[--n];
	}
	return at;
}

/* "AT%CMNG=<op>,<sec_tag>,<type>" into cred_cmd; returns its length. */
static size_t cmng_cmd(char op, uint32_t sec_tag, int type)
{
	size_t at = put_str(cred_cmd, 0, "AT%CMNG=");

	cred_cmd[at++] = op;
	cred_cmd[at++] = ',';
	at = put_uint(cred_cmd, at, sec_tag);
	cred_cmd[at++] = ',';
	at = put_uint(cred_cmd, at, (uint32_t)type);
	cred_cmd[at] = '\0';
	return at;
}

static bool cred_type_valid(int type)
{
	return type == LWM2M_OS_SEC_PSK || type == LWM2M_OS_SEC_IDENTITY;
}

/* Run cred_cmd with +CME error codes on, restoring AT+CMEE afterwards.
 * Returns at_cmd_write()'s result for cred_cmd: 0, a positive CME code,
 * or a negative errno.
 */
static int cmng_with_cme(void)
{
	char cmee[sizeof("+CMEE: 1\r\n")];
	int ret = at_cmd_write("AT+CMEE?", cmee, sizeof(cmee), NULL);

	if (ret != 0) {
		LOG_ERR("AT+CMEE? failed: %d", ret);
		return -EIO;
	}

	bool was_on = strncmp(cmee, "+CMEE: 1", 8) == 0;

	if (!was_on) {
		ret = at_cmd_write("AT+CMEE=1", NULL, 0, NULL);
		if (ret != 0) {
			LOG_ERR("AT+CMEE=1 failed: %d", ret);
			return -EIO;
		}
	}

	enum at_cmd_state state;

	ret = at_cmd_write(cred_cmd, NULL, 0, &state);

	if (!was_on) {
		int off = at_cmd_write("AT+CMEE=0", NULL, 0, NULL);

		if (off != 0) {
			LOG_WRN("AT+CMEE=0 failed: %d (CME error codes stay on)", off);
		}
	}
	if (ret > 0 && state != AT_CMD_ERROR_CME) {
		return -EIO; /* +CMS ERROR: not from %CMNG */
	}
	return ret;
}

static int cmng_err(int ret, const char *what, uint32_t sec_tag, int type)
{
	int err;

	switch (ret) {
	case 0:
		return 0;
	case CME_NOT_FOUND:
		err = -LWM2M_OS_ENOENT;
		break;
	case CME_NO_ACCESS:
		err = -LWM2M_OS_EPERM;
		break;
	case CME_MEMORY_FULL:
		err = -LWM2M_OS_ENOSPC;
		break;
	case CME_NOT_ALLOWED_ACTIVE:
		err = -LWM2M_OS_EACCES; /* the link is up */
		break;
	default:
		err = -LWM2M_OS_EIO;
		break;
	}
	if (ret > 0) {
		LOG_WRN("credential %s (tag %u, type %d): +CME ERROR: %d",
			what, (unsigned int)sec_tag, type, ret);
	} else {
		LOG_WRN("credential %s (tag %u, type %d) failed: %d",
			what, (unsigned int)sec_tag, type, ret);
	}
	return err;
}

int lwm2m_os_sec_exists(uint32_t sec_tag, int type)
{
	/* "%CMNG: <sec_tag>,<type>,\"<SHA-256 in hex>\"" when it exists. */
	char resp[128];

	if (!cred_type_valid(type)) {
		return -LWM2M_OS_EINVAL;
	}
	if (!at_ready) {
		return -LWM2M_OS_EIO;
	}

	(void)cmng_cmd('1', sec_tag, type);

	int ret = at_cmd_write(cred_cmd, resp, sizeof(resp), NULL);

	if (ret != 0) {
		return cmng_err(ret < 0 ? ret : -EIO, "list", sec_tag, type);
	}
	return strncmp(resp, "%CMNG:", 6) == 0 ? 1 : 0;
}

int lwm2m_os_sec_write(uint32_t sec_tag, int type, const void *buf, size_t len)
{
	const char *content = buf;

	if (!cred_type_valid(type) || buf == NULL || len == 0 || len > CRED_MAX_LEN) {
		return -LWM2M_OS_EINVAL;
	}
	/* Inside quotes on an AT command line: printable, no quote; a PSK in
	 * hex digits only. */
	for (size_t i = 0; i < len; i++) {
		char c = content[i];
		bool ok = type == LWM2M_OS_SEC_PSK
				  ? (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') ||
					    (c >= 'A' && c <= 'F')
				  : c >= 0x20 && c < 0x7f && c != '"';

		if (!ok) {
			LOG_ERR("credential write (tag %u, type %d): character %u at %u "
				"cannot be sent in AT%%CMNG", (unsigned int)sec_tag, type,
				(unsigned int)(uint8_t)c, (unsigned int)i);
			return -LWM2M_OS_EINVAL;
		}
	}
	if (!at_ready) {
		return -LWM2M_OS_EIO;
	}

	size_t at = cmng_cmd('0', sec_tag, type);

	cred_cmd[at++] = ',';
	cred_cmd[at++] = '"';
	memcpy(cred_cmd + at, content, len);
	at += len;
	cred_cmd[at++] = '"';
	cred_cmd[at] = '\0';

	int ret = cmng_with_cme();

	/* The key is in cred_cmd: do not leave it in RAM. */
	memset(cred_cmd, 0, sizeof(cred_cmd));
	return cmng_err(ret, "write", sec_tag, type);
}

int lwm2m_os_sec_delete(uint32_t sec_tag, int type)
{
	if (!cred_type_valid(type)) {
		return -LWM2M_OS_EINVAL;
	}
	if (!at_ready) {
		return -LWM2M_OS_EIO;
	}

	(void)cmng_cmd('3', sec_tag, type);
	int ret = cmng_with_cme();

	if (ret == CME_NOT_FOUND) {
		return -LWM2M_OS_ENOENT; /* nothing to delete: not worth a warning */
	}
	return cmng_err(ret, "delete", sec_tag, type);
}

/* ------------------------------------------------------------------------ */
/* Datagram sockets                                                          */

/* Resolve host (IPv4 or IPv6 literal, else DNS: IPv4 first, then IPv6) into
 * addr with port set. Returns the address length, or 0 on failure.
 */
static socklen_t resolve(const char *host, uint16_t port, struct sockaddr *addr)
{
	struct sockaddr_in *in4 = (struct sockaddr_in *)addr;
	struct sockaddr_in6 *in6 = (struct sockaddr_in6 *)addr;

	memset(addr, 0, sizeof(struct sockaddr_in6));

	if (zsock_inet_pton(AF_INET, host, &in4->sin_addr) == 1) {
		in4->sin_family = AF_INET;
		in4->sin_port = htons(port);
		return sizeof(struct sockaddr_in);
	}
	if (zsock_inet_pton(AF_INET6, host, &in6->sin6_addr) == 1) {
		in6->sin6_family = AF_INET6;
		in6->sin6_port = htons(port);
		return sizeof(struct sockaddr_in6);
	}

	static const sa_family_t families[] = { AF_INET, AF_INET6 };

	for (size_t i = 0; i < ARRAY_SIZE(families); i++) {
		struct zsock_addrinfo hints = {
			.ai_family = families[i],
			.ai_socktype = SOCK_DGRAM,
		};
		struct zsock_addrinfo *result = NULL;

		if (zsock_getaddrinfo(host, NULL, &hints, &result) != 0 || result == NULL) {
			continue;
		}

		socklen_t len = 0;

		if (result->ai_family == AF_INET &&
		    result->ai_addrlen >= sizeof(struct sockaddr_in)) {
			memcpy(in4, result->ai_addr, sizeof(struct sockaddr_in));
			in4->sin_port = htons(port);
			len = sizeof(struct sockaddr_in);
		} else if (result->ai_family == AF_INET6 &&
			   result->ai_addrlen >= sizeof(struct sockaddr_in6)) {
			memcpy(in6, result->ai_addr, sizeof(struct sockaddr_in6));
			in6->sin6_port = htons(port);
			len = sizeof(struct sockaddr_in6);
		}
		zsock_freeaddrinfo(result);

		if (len != 0) {
			return len;
		}
	}

	return 0;
}

/* A failed connect() / handshake: which LWM2M_OS code. */
static int connect_err(int err)
{
	switch (err) {
	case ETIMEDOUT:
		return -LWM2M_OS_ETIMEDOUT;
	case ENETUNREACH:
	case EHOSTUNREACH:
	case ENETDOWN:
	case EHOSTDOWN:
		return -LWM2M_OS_ENOROUTE;
	case ENOMEM:
	case ENOBUFS:
		return -LWM2M_OS_ENOMEM;
	default:
		/* Refused, or the DTLS handshake failed (ECONNREFUSED,
		 * ECONNABORTED, EKEYREJECTED, ...).
		 */
		return -LWM2M_OS_ECONNECT;
	}
}

/* A failed send() / recv() on an open socket. */
static int transfer_err(int err)
{
	switch (err) {
	case EAGAIN:
#if EWOULDBLOCK != EAGAIN
	case EWOULDBLOCK:
#endif
		return -LWM2M_OS_EAGAIN;
	case ENOMEM:
	case ENOBUFS:
		return -LWM2M_OS_ENOMEM;
	case EMSGSIZE:
	case EINVAL:
		return -LWM2M_OS_EINVAL;
	default:
		/* ENOTCONN, ECONNRESET, EPIPE, ENETDOWN, EBADF, ... */
		return -LWM2M_OS_ECONNLOST;
	}
}

static int setup_dtls(int fd, int32_t sec_tag)
{
	sec_tag_t tags[] = { (sec_tag_t)sec_tag };
	int verify = TLS_PEER_VERIFY_NONE; /* PSK: there is no certificate */

	if (zsock_setsockopt(fd, SOL_TLS, TLS_SEC_TAG_LIST, tags, sizeof(tags)) != 0 ||
	    zsock_setsockopt(fd, SOL_TLS, TLS_PEER_VERIFY, &verify, sizeof(verify)) != 0) {
		LOG_ERR("DTLS socket options failed: %d", errno);
		return -LWM2M_OS_EIO;
	}
	return 0;
}

static int bind_local_port(int fd, sa_family_t family, uint16_t local_port)
{
	struct sockaddr_in6 local = { 0 };
	socklen_t len;

	if (family == AF_INET) {
		struct sockaddr_in *in4 = (struct sockaddr_in *)&local;

		in4->sin_family = AF_INET;
		in4->sin_port = htons(local_port);
		len = sizeof(struct sockaddr_in);
	} else {
		local.sin6_family = AF_INET6;
		local.sin6_port = htons(local_port);
		len = sizeof(struct sockaddr_in6);
	}

	if (zsock_bind(fd, (struct sockaddr *)&local, len) != 0) {
		LOG_ERR("bind(%u) failed: %d", local_port, errno);
		return os_err(errno, LWM2M_OS_EIO);
	}
	return 0;
}

int lwm2m_os_udp_open(const char *host, uint16_t port, int32_t sec_tag, uint16_t local_port)
{
	int handle = -1;

	if (host == NULL) {
		return -LWM2M_OS_EINVAL;
	}
	for (int i = 0; i < LWM2M_OS_ZEPHYR_MAX_SOCKETS; i++) {
		if (socket_fds[i] < 0) {
			handle = i;
			break;
		}
	}
	if (handle < 0) {
		LOG_ERR("socket: all %d of the library's sockets are open",
			LWM2M_OS_ZEPHYR_MAX_SOCKETS);
		return -LWM2M_OS_ENOMEM;
	}

	struct sockaddr_in6 peer; /* large enough for either family */
	socklen_t peer_len = resolve(host, port, (struct sockaddr *)&peer);

	if (peer_len == 0) {
		LOG_WRN("cannot resolve %s", log_strdup(host));
		return -LWM2M_OS_ENOROUTE;
	}

	sa_family_t family = peer.sin6_family;
	int proto = sec_tag >= 0 ? IPPROTO_DTLS_1_2 : IPPROTO_UDP;
	int fd = zsock_socket(family, SOCK_DGRAM, proto);

	if (fd < 0) {
		int err = errno;

		if (err == ENFILE || err == EMFILE) {
			/* Zephyr's descriptor table is full (z_reserve_fd()). */
			LOG_ERR("socket: no file descriptor free (CONFIG_POSIX_MAX_FDS=%d, "
				"the application's sockets and files count too)",
				CONFIG_POSIX_MAX_FDS);
		} else if (err == ENOBUFS || err == ENOMEM) {
			/* bsdlib's own limit (BSD_MAX_SOCKET_COUNT) or memory. */
			LOG_ERR("socket: the modem library has no socket free: %d", err);
		} else {
			LOG_ERR("socket() failed: %d", err);
		}
		return os_err(err, LWM2M_OS_EIO);
	}

	int ret = 0;

	if (sec_tag >= 0) {
		ret = setup_dtls(fd, sec_tag);
	}
	if (ret == 0 && local_port != 0) {
		ret = bind_local_port(fd, family, local_port);
	}
	if (ret == 0 && zsock_connect(fd, (struct sockaddr *)&peer, peer_len) != 0) {
		LOG_WRN("connect to %s failed: %d", log_strdup(host), errno);
		ret = connect_err(errno);
	}
	if (ret != 0) {
		(void)zsock_close(fd);
		return ret;
	}

	socket_fds[handle] = fd;
	socket_secure[handle] = sec_tag >= 0;
	socket_fault[handle] = SOCKET_OK;
	return handle;
}

static int handle_fd(int handle)
{
	if (handle < 0 || handle >= LWM2M_OS_ZEPHYR_MAX_SOCKETS) {
		return -1;
	}
	return socket_fds[handle];
}

int lwm2m_os_udp_send(int handle, const void *buf, size_t len)
{
	int fd = handle_fd(handle);

	if (fd < 0) {
		return -LWM2M_OS_EBADF;
	}

	ssize_t sent = zsock_send(fd, buf, len, 0);

	if (sent < 0) {
		return transfer_err(errno);
	}
	return (int)sent;
}

int lwm2m_os_udp_recv(int handle, void *buf, size_t len)
{
	int fd = handle_fd(handle);

	if (fd < 0) {
		return -LWM2M_OS_EBADF;
	}

	ssize_t received = zsock_recv(fd, buf, len, ZSOCK_MSG_DONTWAIT);

	if (received < 0) {
		int err = transfer_err(errno);

		if (err == -LWM2M_OS_EAGAIN && socket_fault[handle] != SOCKET_OK) {
			/* poll() saw an error and nothing is left to read: report
			 * the broken connection, not "nothing yet" (see
			 * socket_fault).
			 */
			socket_fault[handle] = SOCKET_FAULT_REPORTED;
			return -LWM2M_OS_ECONNLOST;
		}
		return err;
	}
	if (received == 0) {
		/* DTLS: end of the session (the peer closed it), which poll()
		 * keeps reporting, so the library must close the socket.
		 * UDP: an empty datagram carries no CoAP message.
		 */
		return socket_secure[handle] ? -LWM2M_OS_ECONNLOST : -LWM2M_OS_EAGAIN;
	}
	return (int)received;
}

void lwm2m_os_udp_close(int handle)
{
	int fd = handle_fd(handle);

	if (fd < 0) {
		return;
	}

	(void)zsock_close(fd);
	socket_fds[handle] = -1;
	socket_fault[handle] = SOCKET_OK;
}
