/*
 * Copyright (c) 2026 The lwm2m_carrier authors
 * SPDX-License-Identifier: Apache-2.0
 */

/**
 * @file lwm2m_os.h
 * @brief The one platform contract of lwm2m_carrier.
 *
 * The library (liblwm2m_carrier.a) calls these functions and nothing else of
 * the platform. A port implements every one of them:
 *   - zephyr/lwm2m_os_zephyr.c  for Zephyr / nRF Connect SDK on the nRF9160,
 *   - port/                     for Linux (host tests, the host sample).
 *
 * General rules, unless a function says otherwise:
 *   - Functions return 0 (or a non-negative count) on success and a
 *     **negative** LWM2M_OS_E* code on failure. The codes below 35 have the
 *     classic errno values, which are the same in newlib and glibc, so a port
 *     may pass `-errno` through for those.
 *   - Only the carrier thread calls into the OS layer, except
 *     lwm2m_os_wake(), lwm2m_os_lock()/lwm2m_os_unlock() and
 *     lwm2m_os_log(), which any thread may call.
 *   - Pointers passed in are borrowed for the duration of the call only.
 *   - Nothing here may call back into the library except the AT notification
 *     handler registered with lwm2m_os_at_notif_register().
 */

#ifndef LWM2M_OS_H__
#define LWM2M_OS_H__

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/** @name Error codes (returned negated)
 * @{ */
#define LWM2M_OS_EPERM 1       /**< Operation not permitted. */
#define LWM2M_OS_ENOENT 2      /**< No such record / credential / entry. */
#define LWM2M_OS_EIO 5         /**< I/O error (modem, flash, socket). */
#define LWM2M_OS_ENOEXEC 8     /**< The modem answered an AT command with ERROR. */
#define LWM2M_OS_EBADF 9       /**< Bad handle. */
#define LWM2M_OS_EAGAIN 11     /**< Nothing to receive now (non-blocking). */
#define LWM2M_OS_ENOMEM 12     /**< Out of memory or handles. */
#define LWM2M_OS_EACCES 13     /**< Credential write while the LTE link is up. */
#define LWM2M_OS_EINVAL 22     /**< Invalid argument. */
#define LWM2M_OS_ENOSPC 28     /**< Storage full. */
#define LWM2M_OS_ENOBUFS 105   /**< Caller's buffer too small (data truncated). */
#define LWM2M_OS_ENOROUTE 200  /**< Name resolution failed or no route to host. */
#define LWM2M_OS_ECONNECT 201  /**< Peer refused, or the DTLS handshake failed. */
#define LWM2M_OS_ETIMEDOUT 202 /**< The peer did not answer in time. */
#define LWM2M_OS_ECONNLOST 203 /**< An established connection broke. */
/** @} */

/* ------------------------------------------------------------------------ */
/** @name Initialisation
 * @{ */

/**
 * Initialise the OS layer (storage, locks, the wake mechanism).
 * Called once, first, from lwm2m_carrier_init().
 * @return 0, or a negative code (the library then fails init with -EIO).
 */
int lwm2m_os_init(void);

/** @} */
/* ------------------------------------------------------------------------ */
/** @name Heap
 * @{ */

/** Allocate @p size bytes aligned to 8. NULL when out of memory. */
void *lwm2m_os_malloc(size_t size);

/** Free memory from lwm2m_os_malloc(). NULL is ignored. */
void lwm2m_os_free(void *ptr);

/** @} */
/* ------------------------------------------------------------------------ */
/** @name Time, waiting and waking
 * The library never sleeps or polls on its own: it computes its next
 * deadline and waits for it, or for activity, in lwm2m_os_wait().
 * @{ */

/** Monotonic milliseconds since an arbitrary origin (boot). Never wraps. */
int64_t lwm2m_os_uptime_ms(void);

/**
 * Block the carrier thread until one of:
 *   - lwm2m_os_wake() was called (since the previous return of this function),
 *   - a socket opened with lwm2m_os_udp_open() may have data to read,
 *   - @p timeout_ms milliseconds have passed (a negative value: wait forever).
 * Spurious returns are allowed; the library re-checks everything after each
 * return. A platform that cannot interrupt a blocking socket wait must bound
 * how late it notices lwm2m_os_wake() and document that bound.
 * @return 0 when woken or data may be ready, 1 on timeout.
 */
int lwm2m_os_wait(int32_t timeout_ms);

/** Make the current or next lwm2m_os_wait() return. Any thread. Never blocks. */
void lwm2m_os_wake(void);

/**
 * One global lock for the library's shared state (setters from application
 * threads against the carrier thread). Not recursive: the library never
 * locks twice, never calls the application while holding it, and calls no
 * lwm2m_os_* function but lwm2m_os_log() and lwm2m_os_wake() under it.
 * Must provide priority inheritance where the platform has priorities.
 */
void lwm2m_os_lock(void);
/** Release the lock taken with lwm2m_os_lock(). */
void lwm2m_os_unlock(void);

/** @} */
/* ------------------------------------------------------------------------ */
/** @name System
 * @{ */

/** Reboot the device. Does not return. (Host port: the process exits with
 *  status 64; the runner starts it again on the same storage.) */
void lwm2m_os_reboot(void);

/** Fill @p buf with @p len random bytes (used for CoAP message ids and
 *  tokens). @return 0 or a negative code. */
int lwm2m_os_rand(void *buf, size_t len);

/** @} */
/* ------------------------------------------------------------------------ */
/** @name Logging
 * @{ */

#define LWM2M_OS_LOG_LEVEL_NONE 0
#define LWM2M_OS_LOG_LEVEL_ERR 1
#define LWM2M_OS_LOG_LEVEL_WRN 2
#define LWM2M_OS_LOG_LEVEL_INF 3
#define LWM2M_OS_LOG_LEVEL_DBG 4

/**
 * Log one line. @p msg is NUL-terminated, already formatted, without a
 * trailing newline, and only valid during the call (copy it if the logger
 * is deferred). Any thread. No printf-style formatting is involved.
 */
void lwm2m_os_log(int level, const char *msg);

/** @} */
/* ------------------------------------------------------------------------ */
/** @name Non-volatile storage
 * Records are identified by 16-bit ids in [LWM2M_OS_STORAGE_BASE,
 * LWM2M_OS_STORAGE_END]. A write replaces the record atomically: after a
 * power cut the record holds either the old or the new content, never a mix
 * (NVS guarantees this; the host port writes a temporary file, fsyncs it and
 * renames it).
 * @{ */

#define LWM2M_OS_STORAGE_BASE 0xCA00
#define LWM2M_OS_STORAGE_END 0xCAFF

/**
 * Read record @p id into @p buf.
 * @return the full length of the record (which may exceed @p len; then only
 *         @p len bytes were copied), -LWM2M_OS_ENOENT if there is no such
 *         record, -LWM2M_OS_EINVAL for an id outside the range, or another
 *         negative code.
 */
int lwm2m_os_storage_read(uint16_t id, void *buf, size_t len);

/**
 * Write @p len bytes as record @p id (replaces any previous content).
 * @return @p len or 0 (content unchanged) on success, negative on failure.
 */
int lwm2m_os_storage_write(uint16_t id, const void *buf, size_t len);

/** Delete record @p id. @return 0, or -LWM2M_OS_ENOENT, or negative. */
int lwm2m_os_storage_delete(uint16_t id);

/** @} */
/* ------------------------------------------------------------------------ */
/** @name Modem
 * The library drives the modem with 3GPP TS 27.007 and nRF91 AT commands:
 * AT+CFUN for the link, +CEREG notifications for registration, AT+CGSN=1
 * for the IMEI, AT%XOPERID for the operator.
 * @{ */

/**
 * Initialise the modem library (bsdlib on the nRF9160).
 * @return 0 when ready; a negative code on failure; a positive value after a
 *         modem firmware update was applied (the DFU result code).
 */
int lwm2m_os_modem_init(void);

/** Shut the modem library down before a reboot. @return 0 or negative. */
int lwm2m_os_modem_shutdown(void);

/**
 * Send the AT command @p cmd (NUL-terminated, without "\r\n") and wait for
 * its final result.
 * @param resp      receives the response lines (information text), the final
 *                  "OK" removed, NUL-terminated; may be NULL if @p resp_len is 0.
 * @return 0 on OK; -LWM2M_OS_ENOEXEC on "ERROR"; a positive value for
 *         "+CME ERROR: <n>" / "+CMS ERROR: <n>" (n); -LWM2M_OS_ENOBUFS if the
 *         response did not fit (truncated); -LWM2M_OS_EIO otherwise.
 */
int lwm2m_os_at_cmd(const char *cmd, char *resp, size_t resp_len);

/** Handler of unsolicited AT notifications (one line, NUL-terminated, without
 *  "\r\n", valid only during the call). */
typedef void (*lwm2m_os_at_notif_handler_t)(const char *notif);

/**
 * Register the handler for unsolicited AT notifications ("+CEREG: ...").
 * The port calls it from any thread but the carrier thread, one notification
 * at a time, also while the carrier thread is inside lwm2m_os_at_cmd(). The
 * handler copies the line into a bounded queue (under lwm2m_os_lock()) and
 * calls lwm2m_os_wake(); it never blocks for long. While holding the lock
 * the library calls no lwm2m_os_* function but lwm2m_os_log() and
 * lwm2m_os_wake().
 * @return 0 or negative.
 */
int lwm2m_os_at_notif_register(lwm2m_os_at_notif_handler_t handler);

/** @} */
/* ------------------------------------------------------------------------ */
/** @name Credentials by security tag (modem key management)
 * Credentials can be written or deleted only while the LTE link is offline
 * (AT+CFUN=4 or 0); otherwise the call fails with -LWM2M_OS_EACCES.
 * @{ */

/** Credential types (values of modem_key_mgmt / AT%CMNG). */
#define LWM2M_OS_SEC_PSK 3          /**< Pre-shared key, as a hex string. */
#define LWM2M_OS_SEC_IDENTITY 4     /**< PSK identity, as a string. */

/**
 * Does a credential of @p type exist under @p sec_tag?
 * @return 1 yes, 0 no, negative on failure.
 */
int lwm2m_os_sec_exists(uint32_t sec_tag, int type);

/**
 * Write a credential. @p buf is not NUL-terminated; the PSK is the hex
 * string form (as AT%CMNG takes it), the identity plain text.
 * @return 0, -LWM2M_OS_EACCES (link up), -LWM2M_OS_EINVAL, or negative.
 */
int lwm2m_os_sec_write(uint32_t sec_tag, int type, const void *buf, size_t len);

/** Delete a credential. @return 0, -LWM2M_OS_ENOENT, -LWM2M_OS_EACCES, or negative. */
int lwm2m_os_sec_delete(uint32_t sec_tag, int type);

/** @} */
/* ------------------------------------------------------------------------ */
/** @name Datagram sockets
 * UDP, optionally secured with DTLS 1.2 using the PSK and identity stored
 * under a security tag (TLS_PSK_WITH_AES_128_CCM_8 and
 * TLS_PSK_WITH_AES_128_CBC_SHA256). At most 4 sockets are open at a time.
 * @{ */

/** No security tag: plain UDP. */
#define LWM2M_OS_NO_SEC_TAG (-1)

/**
 * Resolve @p host (a name or an IPv4/IPv6 literal, without brackets), open a
 * datagram socket bound to @p local_port (0: any), connect it to
 * @p host : @p port and, if @p sec_tag >= 0, complete the DTLS handshake.
 * Blocks for at most a platform-defined time (documented by the port).
 * @return a handle >= 0; -LWM2M_OS_ENOROUTE (name or route), -LWM2M_OS_ECONNECT
 *         (refused, handshake failed), -LWM2M_OS_ETIMEDOUT, -LWM2M_OS_ENOMEM,
 *         or another negative code.
 */
int lwm2m_os_udp_open(const char *host, uint16_t port, int32_t sec_tag, uint16_t local_port);

/**
 * Send one datagram. @return @p len on success, negative on failure
 * (-LWM2M_OS_ECONNLOST when the connection is gone).
 */
int lwm2m_os_udp_send(int handle, const void *buf, size_t len);

/**
 * Receive one datagram without blocking.
 * @return its length (> 0; a datagram longer than @p len is truncated to
 *         @p len), -LWM2M_OS_EAGAIN if none is waiting, or another negative
 *         code when the connection is broken (-LWM2M_OS_ECONNLOST).
 */
int lwm2m_os_udp_recv(int handle, void *buf, size_t len);

/** Close the socket (ends the DTLS session). Invalid handles are ignored. */
void lwm2m_os_udp_close(int handle);

/** @} */

#ifdef __cplusplus
}
#endif

#endif /* LWM2M_OS_H__ */
