#!/usr/bin/env bash
# Run the LwM2M carrier sample on this PC against real Eclipse Leshan servers on loopback.
#
#   scripts/demo.sh [--fresh] [--imei <15 digits>] [--verbose]
#
# Installs what is missing (scripts/setup.sh, which also fetches Leshan with scripts/leshan.sh),
# builds the host sample (scripts/build-host-sample.sh),
# starts the LwM2M server and the bootstrap server on 127.0.0.1, provisions the demo device
# (endpoint urn:imei:<IMEI>, random PSKs), then runs the sample in the foreground: it prints
# every carrier event (LWM2M_CARRIER_EVENT_...). Open the web UI it prints to see the device
# register and to read its objects. Ctrl-C stops everything.
#
# The device's storage (flash, modem keys) is kept in build/demo-storage together with its
# IMEI and PSKs, so a second run shows the second-boot path (no bootstrap). --fresh wipes it
# (first-boot path: bootstrap, then register). Exit status 64 of the sample means "reboot
# requested" (e.g. Execute /3/0/4 from the web UI): the demo starts it again.
#   --imei     IMEI of the demo device (default 351358815340515); a different IMEI than the
#              stored one starts fresh.
#   --verbose  also show the library's log (stderr); otherwise it goes to build/demo-sample.log.
# Ports: as scripts/leshan.sh (LESHAN_SERVER_WEB_PORT=8080, LESHAN_BS_WEB_PORT=8081, CoAP 5683/5684,
# bootstrap 5783/5784).
set -euo pipefail

REPO_DIR="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$REPO_DIR"

DEFAULT_IMEI="351358815340515"
STORAGE_DIR="$REPO_DIR/build/demo-storage"
LESHAN_WORK="$REPO_DIR/build/demo-leshan"
SAMPLE_LOG="$REPO_DIR/build/demo-sample.log"
DEVICE_FILE="$STORAGE_DIR/demo-device.env"
HOST="127.0.0.1"
SERVER_WEB_PORT="${LESHAN_SERVER_WEB_PORT:-8080}"
SERVER_COAPS_PORT="${LESHAN_SERVER_COAPS_PORT:-5684}"
BS_WEB_PORT="${LESHAN_BS_WEB_PORT:-8081}"
BS_COAPS_PORT="${LESHAN_BS_COAPS_PORT:-5784}"

fresh=0
verbose=0
imei=""
while (($#)); do
	case "$1" in
	--fresh) fresh=1 ;;
	--verbose) verbose=1 ;;
	--imei)
		shift
		imei="${1:-}"
		[[ "$imei" =~ ^[0-9]{15}$ ]] || { echo "demo: --imei takes 15 digits" >&2; exit 2; }
		;;
	-h | --help)
		sed -n '2,/^[^#]/{/^#/s/^# \{0,1\}//p}' "$0"
		exit 0
		;;
	*)
		echo "demo: unknown option $1 (try --help)" >&2
		exit 2
		;;
	esac
	shift
done

say() { printf '\033[1m== %s\033[0m\n' "$*"; }

random_hex() { od -An -tx1 -N"$1" /dev/urandom | tr -d ' \n'; }

# JSON array of the byte values of a string / of a hex string ("abc" -> [97,98,99])
bytes_of_text() { printf '%s' "$1" | od -An -tu1 -v | tr -s ' \n' ',' | sed 's/^,//; s/,$//; s/^/[/; s/$/]/'; }
bytes_of_hex() { printf '%s' "$1" | sed 's/../&\n/g' | sed '/^$/d' | while read -r b; do printf '%d,' "0x$b"; done | sed 's/,$//; s/^/[/; s/$/]/'; }

rest() { # method url [json body]
	# The body (it carries PSKs) goes through stdin, not the command line, which every local
	# user can read in /proc; the answer goes to a private temp file.
	local method="$1" url="$2" body="${3:-}" status answer
	answer="$(mktemp)"
	if [[ -n "$body" ]]; then
		status="$(printf '%s' "$body" | curl -sS -o "$answer" -w '%{http_code}' -X "$method" \
			-H 'Content-Type: application/json' --data-binary @- "$url")"
	else
		status="$(curl -sS -o "$answer" -w '%{http_code}' -X "$method" "$url")"
	fi
	if [[ "$status" != 2* ]]; then
		echo "demo: $method $url -> HTTP $status: $(head -c 300 "$answer")" >&2
		rm -f "$answer"
		return 1
	fi
	rm -f "$answer"
}

# ---------------------------------------------------------------- device identity and storage
if ((fresh)); then
	rm -rf "$STORAGE_DIR"
fi
if [[ -f "$DEVICE_FILE" ]]; then
	# shellcheck source=/dev/null
	source "$DEVICE_FILE"
	if [[ -n "$imei" && "$imei" != "$DEMO_IMEI" ]]; then
		echo "demo: IMEI $imei differs from the stored device ($DEMO_IMEI): starting fresh"
		rm -rf "$STORAGE_DIR"
	fi
fi
if [[ ! -f "$DEVICE_FILE" ]]; then
	# The env file holds both PSKs and the storage the keys the modem got: user-only (0700/0600).
	mkdir -p -m 700 "$STORAGE_DIR"
	DEMO_IMEI="${imei:-$DEFAULT_IMEI}"
	DEMO_BS_PSK="$(random_hex 16)"
	DEMO_DM_PSK="$(random_hex 16)"
	(
		umask 077
		printf 'DEMO_IMEI=%s\nDEMO_BS_PSK=%s\nDEMO_DM_PSK=%s\n' "$DEMO_IMEI" "$DEMO_BS_PSK" "$DEMO_DM_PSK" >"$DEVICE_FILE"
	)
	first_boot=1
else
	chmod 600 "$DEVICE_FILE" # written world-readable by older versions of this script
	chmod 700 "$STORAGE_DIR"
	first_boot=0
fi
ENDPOINT="urn:imei:$DEMO_IMEI"

# ---------------------------------------------------------------- tools, Leshan, sample
if [[ -x scripts/setup.sh ]]; then
	say "Installing what is missing (scripts/setup.sh; fetches Leshan once)"
	scripts/setup.sh
else
	say "Fetching Leshan (cached after the first run)"
	scripts/leshan.sh fetch
fi

say "Building the host sample"
[[ -x scripts/build-host-sample.sh ]] || { echo "demo: scripts/build-host-sample.sh is missing" >&2; exit 1; }
SAMPLE="$(scripts/build-host-sample.sh | tail -n 1)"
[[ -x "$SAMPLE" ]] || SAMPLE="$REPO_DIR/build/host/lwm2m_carrier_sample"
[[ -x "$SAMPLE" ]] || { echo "demo: the host sample was not built" >&2; exit 1; }

sample_pid=""
cleanup() {
	trap - INT TERM EXIT
	if [[ -n "$sample_pid" ]] && kill -0 "$sample_pid" 2>/dev/null; then
		kill -TERM "$sample_pid" 2>/dev/null || true
		wait "$sample_pid" 2>/dev/null || true
	fi
	echo
	say "Stopping the Leshan servers"
	scripts/leshan.sh stop "$LESHAN_WORK"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

say "Starting the Leshan servers on $HOST"
rm -rf "$LESHAN_WORK" # their stores are re-provisioned below; nothing to keep
scripts/leshan.sh start "$LESHAN_WORK"

# ---------------------------------------------------------------- provisioning
# Bootstrap server: the PSK of the bootstrap DTLS session (identity = endpoint) and the config it
# writes: delete /0 and /1, Server 0 (short id 1, lifetime 300 s), Security 1 = the LwM2M server
# over coaps with the device's PSK. LwM2M server: the same PSK for the device's DTLS session.
say "Provisioning $ENDPOINT"
rest PUT "http://$HOST:$BS_WEB_PORT/api/security/clients" \
	"{\"endpoint\":\"$ENDPOINT\",\"tls\":{\"mode\":\"psk\",\"details\":{\"identity\":\"$ENDPOINT\",\"key\":\"$DEMO_BS_PSK\"}}}"
rest POST "http://$HOST:$BS_WEB_PORT/api/bootstrap/$ENDPOINT" "{
  \"toDelete\": [\"/0\", \"/1\"],
  \"servers\": {\"0\": {\"shortId\": 1, \"lifetime\": 300, \"defaultMinPeriod\": 1, \"notifIfDisabled\": false, \"binding\": \"U\"}},
  \"security\": {\"1\": {\"uri\": \"coaps://$HOST:$SERVER_COAPS_PORT\", \"bootstrapServer\": false, \"securityMode\": \"PSK\",
    \"publicKeyOrId\": $(bytes_of_text "$ENDPOINT"), \"serverPublicKey\": [], \"secretKey\": $(bytes_of_hex "$DEMO_DM_PSK"),
    \"serverId\": 1}},
  \"acls\": {}
}"
rest PUT "http://$HOST:$SERVER_WEB_PORT/api/security/clients" \
	"{\"endpoint\":\"$ENDPOINT\",\"psk\":{\"identity\":\"$ENDPOINT\",\"key\":\"$DEMO_DM_PSK\"}}"

cat <<EOF

  LwM2M server web UI      http://$HOST:$SERVER_WEB_PORT/   (registrations; click the device to read/execute)
  Bootstrap server page    http://$HOST:$BS_WEB_PORT/   (configs and bootstrap sessions)
  Endpoint                 $ENDPOINT
  Device storage           $STORAGE_DIR   ($( ((first_boot)) && echo "new: first boot bootstraps" || echo "kept: second boot, no bootstrap; --fresh to redo"))
  Library log              $( ((verbose)) && echo "shown below" || echo "$SAMPLE_LOG")

  Ctrl-C stops the sample and both servers.

EOF

# ---------------------------------------------------------------- the device
export LWM2M_HOST_STORAGE_DIR="$STORAGE_DIR"
export LWM2M_HOST_IMEI="$DEMO_IMEI"
export CONFIG_LWM2M_CARRIER_USE_CUSTOM_BOOTSTRAP_URI=y
export CONFIG_LWM2M_CARRIER_CUSTOM_BOOTSTRAP_URI="coaps://$HOST:$BS_COAPS_PORT"
export CONFIG_LWM2M_CARRIER_USE_CUSTOM_BOOTSTRAP_PSK=y
export CONFIG_LWM2M_CARRIER_CUSTOM_BOOTSTRAP_PSK="$DEMO_BS_PSK"

say "Running the sample ($SAMPLE)"
: >"$SAMPLE_LOG"
while true; do
	if ((verbose)); then
		"$SAMPLE" &
	else
		"$SAMPLE" 2>>"$SAMPLE_LOG" &
	fi
	sample_pid=$!
	status=0
	wait "$sample_pid" || status=$?
	sample_pid=""
	if ((status == 64)); then
		say "The sample asked for a reboot (exit 64): starting it again on the same storage"
		continue
	fi
	say "The sample exited with status $status"
	exit "$status"
done
