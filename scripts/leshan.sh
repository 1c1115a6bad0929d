#!/usr/bin/env bash
# Eclipse Leshan LwM2M servers on loopback, for the interop tests and the demo.
#
#   scripts/leshan.sh fetch             download the pinned Leshan jars from Maven Central (once; sha1-checked)
#                                       and compile the bootstrap-server front end (tests/interop/leshan/)
#   scripts/leshan.sh start <workdir>   start the LwM2M server and the bootstrap server, each in its own
#                                       working dir under <workdir> (their data/ stores never leak between
#                                       runs), wait until both REST APIs answer, write <workdir>/*.pid
#   scripts/leshan.sh start-server <workdir>
#                                       start one more LwM2M server only (multi-server tests: a second
#                                       server on other ports, LESHAN_SERVER_* below), same layout
#   scripts/leshan.sh stop <workdir>    stop what runs from <workdir> (TERM, then KILL after 10 s)
#   scripts/leshan.sh classpath         print the Java class path of the helpers (reference client)
#
# What runs (Maven Central as reachable here serves no 2.x bootstrap-server or client demo jar, and no
# server demo newer than 2.0.0-M4 — see tests/interop/README.md):
#   LwM2M server      org.eclipse.leshan:leshan-server-demo:2.0.0-M4:jar:jar-with-dependencies, unchanged
#                     (web UI + REST API on the web port, CoAP and CoAPs/DTLS-PSK), run by its own main()
#                     from tests/interop/leshan/InteropLeshanServer.java, which adds the one REST call the
#                     demo lacks: DELETE /api/interop/clients/{ep}/{path}/observe (active Observe cancel)
#   bootstrap server  Leshan's bootstrap-server library from that same jar behind our small REST front end
#                     tests/interop/leshan/InteropBootstrapServer.java (REST shaped like the 2.x bsserver demo)
#
# Every listener is bound to 127.0.0.1. Ports (environment, defaults as Leshan's):
#   LESHAN_SERVER_COAP_PORT 5683   LESHAN_SERVER_COAPS_PORT 5684   LESHAN_SERVER_WEB_PORT 8080
#   LESHAN_BS_COAP_PORT     5783   LESHAN_BS_COAPS_PORT     5784   LESHAN_BS_WEB_PORT     8081
# Cache: ${LWM2M_CACHE:-<repo>/.cache}/leshan/ (gitignored). Needs java (17+), javac, mvn, curl.
set -euo pipefail

REPO_DIR="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
CACHE_DIR="${LWM2M_CACHE:-$REPO_DIR/.cache}/leshan"
LESHAN_VERSION="2.0.0-M4"
HOST="127.0.0.1"

# artifact coordinates (group:artifact:version[:type:classifier]) and the sha1 Maven Central publishes for each
ARTIFACTS=(
	"org.eclipse.leshan:leshan-server-demo:$LESHAN_VERSION:jar:jar-with-dependencies 3776128257bce99c5967804cb0fe7d3bbc4c5728 leshan-server-demo-$LESHAN_VERSION-jar-with-dependencies.jar"
	"org.eclipse.leshan:leshan-client-core:$LESHAN_VERSION 75987abf5e68cba84988e99bfac3f64196ed7fb9 leshan-client-core-$LESHAN_VERSION.jar"
	"org.eclipse.leshan:leshan-client-cf:$LESHAN_VERSION d5b8234b814ae621134b293a06fcae7aeca5897b leshan-client-cf-$LESHAN_VERSION.jar"
)
SERVER_JAR="$CACHE_DIR/leshan-server-demo-$LESHAN_VERSION-jar-with-dependencies.jar"
HELPER_SOURCES=("$REPO_DIR"/tests/interop/leshan/*.java)

# Java 17 closes java.util to reflection; the 2021 demo serialises registrations with gson, which needs it.
# Small heap, serial GC and C1 only: two servers share 2 cores with builds and tests.
JAVA_OPTS=(--add-opens java.base/java.util=ALL-UNNAMED --add-opens java.base/java.lang=ALL-UNNAMED
	-Xms32m -Xmx256m -XX:+UseSerialGC -XX:TieredStopAtLevel=1 -Djava.net.preferIPv4Stack=true)

log() { printf 'leshan.sh: %s\n' "$*" >&2; }
die() { log "$*"; exit 1; }

need() {
	command -v "$1" >/dev/null 2>&1 || die "$1 not found ($2)"
}

sha1_of() { sha1sum "$1" | cut -d' ' -f1; }

fetch_jars() {
	mkdir -p "$CACHE_DIR"
	local entry coords sha1 file
	for entry in "${ARTIFACTS[@]}"; do
		read -r coords sha1 file <<<"$entry"
		if [[ -f "$CACHE_DIR/$file" && "$(sha1_of "$CACHE_DIR/$file")" == "$sha1" ]]; then
			continue
		fi
		need mvn "apt-get install maven"
		log "downloading $coords"
		rm -f "$CACHE_DIR/$file"
		# -C: fail on a checksum mismatch against the repository's .sha1
		mvn -B -q -C -Dstyle.color=never org.apache.maven.plugins:maven-dependency-plugin:3.6.1:copy \
			-Dartifact="$coords" -DoutputDirectory="$CACHE_DIR" -Dmdep.useBaseVersion=true >&2 \
			|| die "mvn could not fetch $coords"
		[[ -f "$CACHE_DIR/$file" ]] || die "mvn did not produce $file"
		local got
		got="$(sha1_of "$CACHE_DIR/$file")"
		if [[ "$got" != "$sha1" ]]; then
			rm -f "$CACHE_DIR/$file"
			die "$file: sha1 $got, expected $sha1 (pinned)"
		fi
	done
}

client_classpath() {
	printf '%s' "$SERVER_JAR:$CACHE_DIR/leshan-client-core-$LESHAN_VERSION.jar:$CACHE_DIR/leshan-client-cf-$LESHAN_VERSION.jar"
}

# Compiled helpers live in a directory named after the sources' hash: an edit recompiles, nothing else does.
helper_classes_dir() {
	local hash
	hash="$(cat "${HELPER_SOURCES[@]}" | sha1sum | cut -c1-12)"
	printf '%s' "$CACHE_DIR/classes-$hash"
}

build_helpers() {
	local out
	out="$(helper_classes_dir)"
	[[ -f "$out/.complete" ]] && return 0
	need javac "install a JDK 17, not only a JRE: apt-get install openjdk-17-jdk-headless"
	log "compiling ${HELPER_SOURCES[*]##*/}"
	rm -rf "$out.tmp"
	mkdir -p "$out.tmp"
	javac -nowarn -d "$out.tmp" -cp "$(client_classpath)" "${HELPER_SOURCES[@]}" >&2
	touch "$out.tmp/.complete"
	rm -rf "$out"
	mv "$out.tmp" "$out"
}

cmd_fetch() {
	need java "apt-get install openjdk-17-jdk-headless"
	fetch_jars
	build_helpers
}

wait_for_http() { # url pid name logfile
	local url="$1" pid="$2" name="$3" logfile="$4" deadline=$((SECONDS + 90))
	while ((SECONDS < deadline)); do
		if ! kill -0 "$pid" 2>/dev/null; then
			log "$name exited during start-up; last lines of $logfile:"
			tail -n 30 "$logfile" >&2 || true
			return 1
		fi
		if curl -fsS -o /dev/null --max-time 2 "$url" 2>/dev/null; then
			return 0
		fi
		sleep 0.3
	done
	log "$name did not answer on $url within 90 s; last lines of $logfile:"
	tail -n 30 "$logfile" >&2 || true
	return 1
}

start_one() { # name dir -- command...
	local name="$1" dir="$2"
	shift 3
	mkdir -p "$dir"
	(cd "$dir" && exec "$@" >"$dir/$name.log" 2>&1 </dev/null) &
	echo $! >"$dir/../$name.pid"
}

cmd_start() {
	local work="${1:-}"
	[[ -n "$work" ]] || die "usage: leshan.sh start <workdir>"
	need curl "apt-get install curl"
	cmd_fetch
	mkdir -p "$work"
	work="$(cd "$work" && pwd)"
	local s_coap="${LESHAN_SERVER_COAP_PORT:-5683}" s_coaps="${LESHAN_SERVER_COAPS_PORT:-5684}"
	local s_web="${LESHAN_SERVER_WEB_PORT:-8080}"
	local b_coap="${LESHAN_BS_COAP_PORT:-5783}" b_coaps="${LESHAN_BS_COAPS_PORT:-5784}"
	local b_web="${LESHAN_BS_WEB_PORT:-8081}"

	for name in server bsserver; do
		if [[ -f "$work/$name.pid" ]] && kill -0 "$(cat "$work/$name.pid")" 2>/dev/null; then
			die "$name already running from $work (pid $(cat "$work/$name.pid")); run: leshan.sh stop $work"
		fi
	done

	start_one server "$work/server" -- java "${JAVA_OPTS[@]}" \
		-cp "$(helper_classes_dir):$SERVER_JAR" InteropLeshanServer \
		-lh "$HOST" -lp "$s_coap" -slh "$HOST" -slp "$s_coaps" -wh "$HOST" -wp "$s_web"
	start_one bsserver "$work/bsserver" -- java "${JAVA_OPTS[@]}" \
		-cp "$(helper_classes_dir):$SERVER_JAR" InteropBootstrapServer \
		-lh "$HOST" -lp "$b_coap" -slh "$HOST" -slp "$b_coaps" -wh "$HOST" -wp "$b_web"

	if ! wait_for_http "http://$HOST:$s_web/api/security/clients" "$(cat "$work/server.pid")" \
		"LwM2M server" "$work/server/server.log" ||
		! wait_for_http "http://$HOST:$b_web/api/security/clients" "$(cat "$work/bsserver.pid")" \
			"bootstrap server" "$work/bsserver/bsserver.log"; then
		cmd_stop "$work"
		exit 1
	fi
	cat >"$work/ports.env" <<EOF
LESHAN_SERVER_COAP_PORT=$s_coap
LESHAN_SERVER_COAPS_PORT=$s_coaps
LESHAN_SERVER_WEB_PORT=$s_web
LESHAN_BS_COAP_PORT=$b_coap
LESHAN_BS_COAPS_PORT=$b_coaps
LESHAN_BS_WEB_PORT=$b_web
EOF
	log "LwM2M server     coap://$HOST:$s_coap coaps://$HOST:$s_coaps  web http://$HOST:$s_web/  (pid $(cat "$work/server.pid"))"
	log "bootstrap server coap://$HOST:$b_coap coaps://$HOST:$b_coaps  web http://$HOST:$b_web/  (pid $(cat "$work/bsserver.pid"))"
}

cmd_start_server() {
	local work="${1:-}"
	[[ -n "$work" ]] || die "usage: leshan.sh start-server <workdir>"
	need curl "apt-get install curl"
	cmd_fetch
	mkdir -p "$work"
	work="$(cd "$work" && pwd)"
	local s_coap="${LESHAN_SERVER_COAP_PORT:-5683}" s_coaps="${LESHAN_SERVER_COAPS_PORT:-5684}"
	local s_web="${LESHAN_SERVER_WEB_PORT:-8080}"
	if [[ -f "$work/server.pid" ]] && kill -0 "$(cat "$work/server.pid")" 2>/dev/null; then
		die "server already running from $work (pid $(cat "$work/server.pid")); run: leshan.sh stop $work"
	fi
	start_one server "$work/server" -- java "${JAVA_OPTS[@]}" \
		-cp "$(helper_classes_dir):$SERVER_JAR" InteropLeshanServer \
		-lh "$HOST" -lp "$s_coap" -slh "$HOST" -slp "$s_coaps" -wh "$HOST" -wp "$s_web"
	if ! wait_for_http "http://$HOST:$s_web/api/security/clients" "$(cat "$work/server.pid")" \
		"LwM2M server" "$work/server/server.log"; then
		cmd_stop "$work"
		exit 1
	fi
	log "LwM2M server     coap://$HOST:$s_coap coaps://$HOST:$s_coaps  web http://$HOST:$s_web/  (pid $(cat "$work/server.pid"))"
}

cmd_stop() {
	local work="${1:-}"
	[[ -n "$work" ]] || die "usage: leshan.sh stop <workdir>"
	local name pid waited
	for name in server bsserver; do
		[[ -f "$work/$name.pid" ]] || continue
		pid="$(cat "$work/$name.pid")"
		if kill -0 "$pid" 2>/dev/null; then
			kill -TERM "$pid" 2>/dev/null || true
			waited=0
			while kill -0 "$pid" 2>/dev/null && ((waited < 100)); do
				sleep 0.1
				waited=$((waited + 1))
			done
			kill -KILL "$pid" 2>/dev/null || true
		fi
		rm -f "$work/$name.pid"
	done
}

case "${1:-}" in
fetch) cmd_fetch ;;
start) cmd_start "${2:-}" ;;
start-server) cmd_start_server "${2:-}" ;;
stop) cmd_stop "${2:-}" ;;
classpath)
	cmd_fetch
	printf '%s:%s\n' "$(helper_classes_dir)" "$(client_classpath)"
	;;
*)
	sed -n '2,/^[^#]/{/^#/s/^# \{0,1\}//p}' "$0"
	exit 2
	;;
esac
