/*
 * Copyright (c) 2026 The lwm2m_carrier authors
 * SPDX-License-Identifier: Apache-2.0
 */

import com.fasterxml.jackson.core.JsonGenerator;
import com.fasterxml.jackson.databind.DeserializationFeature;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.SerializerProvider;
import com.fasterxml.jackson.databind.module.SimpleModule;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import com.fasterxml.jackson.databind.ser.std.StdSerializer;
import com.sun.net.httpserver.HttpExchange;
import com.sun.net.httpserver.HttpServer;

import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetSocketAddress;
import java.net.URLDecoder;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Collections;
import java.util.HashMap;
import java.util.Iterator;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.Executors;

import org.eclipse.leshan.core.request.BootstrapDeleteRequest;
import org.eclipse.leshan.core.request.BootstrapDiscoverRequest;
import org.eclipse.leshan.core.request.BootstrapDownlinkRequest;
import org.eclipse.leshan.core.request.BootstrapFinishRequest;
import org.eclipse.leshan.core.request.BootstrapRequest;
import org.eclipse.leshan.core.request.BootstrapWriteRequest;
import org.eclipse.leshan.core.request.Identity;
import org.eclipse.leshan.core.response.LwM2mResponse;
import org.eclipse.leshan.server.bootstrap.BootstrapConfig;
import org.eclipse.leshan.server.bootstrap.BootstrapFailureCause;
import org.eclipse.leshan.server.bootstrap.BootstrapSession;
import org.eclipse.leshan.server.bootstrap.BootstrapSessionListener;
import org.eclipse.leshan.server.bootstrap.InMemoryBootstrapConfigStore;
import org.eclipse.leshan.server.bootstrap.InvalidConfigurationException;
import org.eclipse.leshan.server.californium.bootstrap.LeshanBootstrapServer;
import org.eclipse.leshan.server.californium.bootstrap.LeshanBootstrapServerBuilder;
import org.eclipse.leshan.server.security.BootstrapSecurityStore;
import org.eclipse.leshan.server.security.SecurityInfo;

/**
 * Loopback LwM2M bootstrap server for the interop tests and the demo.
 *
 * <p>The bootstrap protocol is Leshan's own (its bootstrap-server library, shipped inside the
 * {@code leshan-server-demo} 2.0.0-M4 fat jar); this file only adds the configuration front end
 * that Leshan's bootstrap-server demo would give, because the demo jar itself
 * ({@code leshan-demo-bsserver} / {@code leshan-bsserver-demo}) is not served by the Maven
 * Central this project can reach. The REST API follows the shapes of the 2.x bootstrap demo
 * (see /work/shared/interop.md §3b), base {@code http://<wh>:<wp>/api}:
 *
 * <pre>
 *   GET    /bootstrap             every config, {"ep": BootstrapConfig}
 *   POST   /bootstrap/{ep}        set the config of ep (BootstrapConfig JSON) : 200, or 400 + reason
 *   DELETE /bootstrap/{ep}        204, or 404
 *   GET    /security/clients      PSK entries for the bootstrap DTLS session
 *   PUT    /security/clients      {"endpoint", "tls": {"mode": "psk", "details": {"identity", "key": hex}}}
 *                                 (the 1.x shape {"endpoint", "psk": {"identity", "key"}} is accepted too)
 *   DELETE /security/clients/{ep} 200, or 404
 *   GET    /event[?ep=]           server-sent events "BSSESSION" {name, endpoint, time, message}
 *   GET    /event/history[?ep=]   every BSSESSION event since start, as a JSON array (for tests)
 * </pre>
 *
 * <p>Event names are those of the 2.x demo: "new session", "unauthorized", "authorized",
 * "no config", "send delete", "send write", "send discover", "send request",
 * "receive success response", "receive error response", "request failure", "finished", "failed".
 *
 * <p>Refused: RPK / X.509 / OSCORE credentials (400), configs that Leshan's ConfigurationChecker
 * rejects (400 with its message), a PSK identity already used by another endpoint (400),
 * unknown paths (404). Nothing is stored on disk: each run starts empty.
 *
 * <p>Command line (same option names as the Leshan demos):
 * {@code -lh <coap host> -lp <coap port> -slh <coaps host> -slp <coaps port> -wh <web host> -wp <web port>}.
 */
public final class InteropBootstrapServer {

    /** One PSK credential for the bootstrap DTLS session. */
    private record PskEntry(String endpoint, String identity, byte[] key) {
    }

    /** One line of the bootstrap-session log, as the 2.x demo's "BSSESSION" event carries it. */
    private record SessionEvent(String name, String endpoint, long time, String message) {
    }

    private static final int MAX_EVENTS = 10_000;

    private final Map<String, PskEntry> pskByEndpoint = new ConcurrentHashMap<>();
    private final Map<String, PskEntry> pskByIdentity = new ConcurrentHashMap<>();
    private final InMemoryBootstrapConfigStore configStore = new InMemoryBootstrapConfigStore();
    private final List<SessionEvent> events = Collections.synchronizedList(new ArrayList<>());
    private final List<EventStream> streams = new CopyOnWriteArrayList<>();
    private final ObjectMapper mapper = new ObjectMapper();

    private InteropBootstrapServer() {
        mapper.configure(DeserializationFeature.FAIL_ON_UNKNOWN_PROPERTIES, false);
        // The 2.x demo writes byte arrays as arrays of ints (not base64): do the same.
        SimpleModule bytesAsInts = new SimpleModule();
        bytesAsInts.addSerializer(byte[].class, new StdSerializer<byte[]>(byte[].class) {
            @Override
            public void serialize(byte[] value, JsonGenerator gen, SerializerProvider provider) throws IOException {
                gen.writeStartArray();
                for (byte b : value) {
                    gen.writeNumber(b);
                }
                gen.writeEndArray();
            }
        });
        mapper.registerModule(bytesAsInts);
    }

    // ---------------------------------------------------------------- bootstrap credentials

    /** Leshan asks this store for the PSK of a DTLS identity and for the credentials of an endpoint. */
    private final BootstrapSecurityStore securityStore = new BootstrapSecurityStore() {
        @Override
        public Iterator<SecurityInfo> getAllByEndpoint(String endpoint) {
            PskEntry entry = pskByEndpoint.get(endpoint);
            if (entry == null) {
                return null;
            }
            return List.of(SecurityInfo.newPreSharedKeyInfo(entry.endpoint(), entry.identity(), entry.key()))
                    .iterator();
        }

        @Override
        public SecurityInfo getByIdentity(String pskIdentity) {
            PskEntry entry = pskByIdentity.get(pskIdentity);
            return entry == null ? null
                    : SecurityInfo.newPreSharedKeyInfo(entry.endpoint(), entry.identity(), entry.key());
        }
    };

    private synchronized void putPsk(PskEntry entry) {
        PskEntry sameIdentity = pskByIdentity.get(entry.identity());
        if (sameIdentity != null && !sameIdentity.endpoint().equals(entry.endpoint())) {
            throw new IllegalArgumentException(
                    "PSK identity " + entry.identity() + " already used by " + sameIdentity.endpoint());
        }
        PskEntry previous = pskByEndpoint.put(entry.endpoint(), entry);
        if (previous != null) {
            pskByIdentity.remove(previous.identity());
        }
        pskByIdentity.put(entry.identity(), entry);
    }

    private synchronized boolean removePsk(String endpoint) {
        PskEntry previous = pskByEndpoint.remove(endpoint);
        if (previous == null) {
            return false;
        }
        pskByIdentity.remove(previous.identity());
        return true;
    }

    // ---------------------------------------------------------------- session events

    private void record(String name, String endpoint, String message) {
        SessionEvent event = new SessionEvent(name, endpoint, System.currentTimeMillis(), message);
        synchronized (events) {
            if (events.size() >= MAX_EVENTS) {
                events.remove(0);
            }
            events.add(event);
        }
        System.out.println("BSSESSION " + endpoint + ": " + name + " (" + message.replace('\n', ' ') + ")");
        String json = eventJson(event);
        for (EventStream stream : streams) {
            stream.send(endpoint, json);
        }
    }

    private String eventJson(SessionEvent e) {
        ObjectNode node = mapper.createObjectNode();
        node.put("name", e.name());
        node.put("endpoint", e.endpoint());
        node.put("time", e.time());
        node.put("message", e.message());
        return node.toString();
    }

    private final BootstrapSessionListener sessionListener = new BootstrapSessionListener() {
        @Override
        public void sessionInitiated(BootstrapRequest request, Identity client) {
            record("new session", request.getEndpointName(), "Bootstrap Request from " + client);
        }

        @Override
        public void unAuthorized(BootstrapRequest request, Identity client) {
            record("unauthorized", request.getEndpointName(), client + " is not allowed to connect.");
        }

        @Override
        public void authorized(BootstrapSession session) {
            record("authorized", session.getEndpoint(), session.getIdentity() + " is allowed to connect.");
        }

        @Override
        public void noConfig(BootstrapSession session) {
            record("no config", session.getEndpoint(), "No config to apply to this client.");
        }

        @Override
        public void sendRequest(BootstrapSession session, BootstrapDownlinkRequest<? extends LwM2mResponse> request) {
            String name;
            if (request instanceof BootstrapDeleteRequest) {
                name = "send delete";
            } else if (request instanceof BootstrapWriteRequest) {
                name = "send write";
            } else if (request instanceof BootstrapDiscoverRequest) {
                name = "send discover";
            } else {
                name = "send request";
            }
            String message = request instanceof BootstrapFinishRequest ? "Send request: Bootstrap-Finish"
                    : "Send " + request.getClass().getSimpleName() + " on " + request.getPath();
            record(name, session.getEndpoint(), message);
        }

        @Override
        public void onResponseSuccess(BootstrapSession session,
                BootstrapDownlinkRequest<? extends LwM2mResponse> request, LwM2mResponse response) {
            record("receive success response", session.getEndpoint(),
                    response.getCode() + " for " + request.getClass().getSimpleName() + " on " + request.getPath());
        }

        @Override
        public void onResponseError(BootstrapSession session, BootstrapDownlinkRequest<? extends LwM2mResponse> request,
                LwM2mResponse response) {
            record("receive error response", session.getEndpoint(), response.getCode() + " for "
                    + request.getClass().getSimpleName() + " on " + request.getPath() + ": "
                    + response.getErrorMessage());
        }

        @Override
        public void onRequestFailure(BootstrapSession session,
                BootstrapDownlinkRequest<? extends LwM2mResponse> request, Throwable cause) {
            record("request failure", session.getEndpoint(),
                    request.getClass().getSimpleName() + " on " + request.getPath() + ": " + cause);
        }

        @Override
        public void end(BootstrapSession session) {
            record("finished", session.getEndpoint(), "Bootstrap session finished successfully.");
        }

        @Override
        public void failed(BootstrapSession session, BootstrapFailureCause cause) {
            record("failed", session.getEndpoint(), "Bootstrap session failed: " + cause);
        }
    };

    // ---------------------------------------------------------------- REST

    /** An open "text/event-stream" response, filtered on one endpoint or on none. */
    private final class EventStream {
        private final HttpExchange exchange;
        private final String endpoint;

        EventStream(HttpExchange exchange, String endpoint) {
            this.exchange = exchange;
            this.endpoint = endpoint;
        }

        synchronized void send(String eventEndpoint, String json) {
            if (endpoint != null && !endpoint.equals(eventEndpoint)) {
                return;
            }
            try {
                OutputStream out = exchange.getResponseBody();
                out.write(("event: BSSESSION\ndata: " + json + "\n\n").getBytes(StandardCharsets.UTF_8));
                out.flush();
            } catch (IOException e) {
                streams.remove(this);
                exchange.close();
            }
        }
    }

    private static Map<String, String> query(HttpExchange exchange) {
        Map<String, String> params = new HashMap<>();
        String raw = exchange.getRequestURI().getRawQuery();
        if (raw == null) {
            return params;
        }
        for (String pair : raw.split("&")) {
            int eq = pair.indexOf('=');
            String key = eq < 0 ? pair : pair.substring(0, eq);
            String value = eq < 0 ? "" : pair.substring(eq + 1);
            params.put(URLDecoder.decode(key, StandardCharsets.UTF_8), URLDecoder.decode(value, StandardCharsets.UTF_8));
        }
        return params;
    }

    private static void reply(HttpExchange exchange, int status, String contentType, String body) throws IOException {
        byte[] bytes = body.getBytes(StandardCharsets.UTF_8);
        exchange.getResponseHeaders().set("Content-Type", contentType);
        exchange.getResponseHeaders().set("Access-Control-Allow-Origin", "*");
        if (bytes.length == 0) {
            exchange.sendResponseHeaders(status, -1);
        } else {
            exchange.sendResponseHeaders(status, bytes.length);
            try (OutputStream out = exchange.getResponseBody()) {
                out.write(bytes);
            }
        }
        exchange.close();
    }

    private static void replyJson(HttpExchange exchange, int status, String json) throws IOException {
        reply(exchange, status, "application/json", json);
    }

    private static void replyError(HttpExchange exchange, int status, String message) throws IOException {
        reply(exchange, status, "text/plain; charset=utf-8", message);
    }

    private static String readBody(HttpExchange exchange) throws IOException {
        try (InputStream in = exchange.getRequestBody()) {
            byte[] body = in.readNBytes(1 << 20);
            return new String(body, StandardCharsets.UTF_8);
        }
    }

    /** Path segments after the context prefix, URL-decoded (endpoints like "urn:imei:..." stay whole). */
    private static List<String> segments(HttpExchange exchange, String prefix) {
        String path = exchange.getRequestURI().getRawPath().substring(prefix.length());
        List<String> out = new ArrayList<>();
        for (String s : path.split("/")) {
            if (!s.isEmpty()) {
                out.add(URLDecoder.decode(s, StandardCharsets.UTF_8));
            }
        }
        return out;
    }

    private void handleBootstrap(HttpExchange exchange) throws IOException {
        List<String> seg = segments(exchange, "/api/bootstrap");
        String method = exchange.getRequestMethod();
        if (method.equals("GET") && seg.isEmpty()) {
            replyJson(exchange, 200, mapper.writeValueAsString(configStore.getAll()));
        } else if (method.equals("GET") && seg.size() == 1) {
            BootstrapConfig config = configStore.getAll().get(seg.get(0));
            if (config == null) {
                replyError(exchange, 404, "no config for " + seg.get(0));
            } else {
                replyJson(exchange, 200, mapper.writeValueAsString(config));
            }
        } else if (method.equals("POST") && seg.size() == 1) {
            BootstrapConfig config;
            try {
                config = parseConfig(readBody(exchange));
            } catch (IOException | IllegalArgumentException e) {
                replyError(exchange, 400, "invalid bootstrap config: " + e.getMessage());
                return;
            }
            try {
                configStore.add(seg.get(0), config);
            } catch (InvalidConfigurationException e) {
                replyError(exchange, 400, e.getMessage());
                return;
            }
            reply(exchange, 200, "text/plain", "");
        } else if (method.equals("DELETE") && seg.size() == 1) {
            reply(exchange, configStore.remove(seg.get(0)) != null ? 204 : 404, "text/plain", "");
        } else {
            replyError(exchange, 404, "bad URL");
        }
    }

    /**
     * A BootstrapConfig from JSON. Accepts what the 2.x demo accepts: "binding" as a string ("UQ")
     * or an array (["U", "Q"]); byte arrays as arrays of ints.
     */
    private BootstrapConfig parseConfig(String body) throws IOException {
        JsonNode root = mapper.readTree(body);
        if (root == null || !root.isObject()) {
            throw new IllegalArgumentException("expected a JSON object");
        }
        JsonNode servers = root.get("servers");
        if (servers != null && servers.isObject()) {
            for (Iterator<JsonNode> it = servers.elements(); it.hasNext();) {
                JsonNode server = it.next();
                JsonNode binding = server.get("binding");
                if (server.isObject() && binding != null && binding.isTextual()) {
                    ArrayNode modes = mapper.createArrayNode();
                    for (char c : binding.asText().toCharArray()) {
                        modes.add(String.valueOf(c));
                    }
                    ((ObjectNode) server).set("binding", modes);
                }
            }
        }
        // contentFormat is a Leshan class without a JSON form; the default (the client's preference) is used.
        ((ObjectNode) root).remove("contentFormat");
        BootstrapConfig config = mapper.treeToValue(root, BootstrapConfig.class);
        if (config.toDelete == null || config.servers == null || config.security == null || config.acls == null) {
            throw new IllegalArgumentException("toDelete, servers, security and acls must not be null");
        }
        return config;
    }

    private void handleSecurity(HttpExchange exchange) throws IOException {
        List<String> seg = segments(exchange, "/api/security");
        String method = exchange.getRequestMethod();
        if (seg.isEmpty() || !seg.get(0).equals("clients")) {
            replyError(exchange, 404, "bad URL");
        } else if (method.equals("GET") && seg.size() == 1) {
            ArrayNode list = mapper.createArrayNode();
            for (PskEntry entry : pskByEndpoint.values()) {
                ObjectNode details = mapper.createObjectNode();
                details.put("identity", entry.identity());
                details.put("key", hex(entry.key()));
                ObjectNode tls = mapper.createObjectNode();
                tls.put("mode", "psk");
                tls.set("details", details);
                ObjectNode item = mapper.createObjectNode();
                item.put("endpoint", entry.endpoint());
                item.set("tls", tls);
                list.add(item);
            }
            replyJson(exchange, 200, list.toString());
        } else if (method.equals("PUT") && seg.size() == 1) {
            try {
                putPsk(parsePsk(readBody(exchange)));
            } catch (IOException | IllegalArgumentException e) {
                replyError(exchange, 400, e.getMessage());
                return;
            }
            reply(exchange, 200, "text/plain", "");
        } else if (method.equals("DELETE") && seg.size() == 2) {
            reply(exchange, removePsk(seg.get(1)) ? 200 : 404, "text/plain", "");
        } else {
            replyError(exchange, 404, "bad URL");
        }
    }

    private PskEntry parsePsk(String body) throws IOException {
        JsonNode root = mapper.readTree(body);
        if (root == null || !root.isObject() || !root.path("endpoint").isTextual()) {
            throw new IllegalArgumentException("missing endpoint");
        }
        JsonNode psk;
        if (root.has("tls")) {
            if (!"psk".equalsIgnoreCase(root.path("tls").path("mode").asText())) {
                throw new IllegalArgumentException("only tls mode \"psk\" is supported");
            }
            psk = root.path("tls").path("details");
        } else if (root.has("psk")) {
            psk = root.get("psk");
        } else {
            throw new IllegalArgumentException("only PSK credentials are supported");
        }
        if (!psk.path("identity").isTextual() || psk.path("identity").asText().isEmpty()) {
            throw new IllegalArgumentException("missing PSK identity");
        }
        byte[] key = unhex(psk.path("key").asText());
        if (key.length == 0) {
            throw new IllegalArgumentException("key must be a non-empty hex string");
        }
        return new PskEntry(root.get("endpoint").asText(), psk.get("identity").asText(), key);
    }

    private void handleEvent(HttpExchange exchange) throws IOException {
        List<String> seg = segments(exchange, "/api/event");
        String endpoint = query(exchange).get("ep");
        if (seg.size() == 1 && seg.get(0).equals("history")) {
            ArrayNode list = mapper.createArrayNode();
            synchronized (events) {
                for (SessionEvent e : events) {
                    if (endpoint == null || endpoint.equals(e.endpoint())) {
                        list.add(mapper.readTree(eventJson(e)));
                    }
                }
            }
            replyJson(exchange, 200, list.toString());
        } else if (seg.isEmpty()) {
            exchange.getResponseHeaders().set("Content-Type", "text/event-stream");
            exchange.getResponseHeaders().set("Cache-Control", "no-cache");
            exchange.sendResponseHeaders(200, 0);
            exchange.getResponseBody().write(": stream open\n\n".getBytes(StandardCharsets.UTF_8));
            exchange.getResponseBody().flush();
            streams.add(new EventStream(exchange, endpoint));
            // The exchange stays open; EventStream.send writes to it until the peer goes away.
        } else {
            replyError(exchange, 404, "bad URL");
        }
    }

    /** A plain page for people: configs, credentials and the session log (the demo prints its URL). */
    private void handlePage(HttpExchange exchange) throws IOException {
        if (!exchange.getRequestURI().getPath().equals("/")) {
            replyError(exchange, 404, "bad URL");
            return;
        }
        StringBuilder page = new StringBuilder();
        page.append("<!DOCTYPE html><html><head><meta charset=\"utf-8\"><meta http-equiv=\"refresh\" content=\"2\">")
                .append("<title>LwM2M bootstrap server (interop)</title></head><body>")
                .append("<h1>LwM2M bootstrap server</h1><p>Leshan bootstrap library 2.0.0-M4, loopback only.</p>")
                .append("<h2>Bootstrap configs</h2><pre>")
                .append(escape(mapper.writerWithDefaultPrettyPrinter().writeValueAsString(configStore.getAll())))
                .append("</pre><h2>PSK entries (identity only)</h2><ul>");
        for (PskEntry entry : pskByEndpoint.values()) {
            page.append("<li>").append(escape(entry.endpoint())).append(": identity ")
                    .append(escape(entry.identity())).append("</li>");
        }
        page.append("</ul><h2>Session events</h2><pre>");
        synchronized (events) {
            for (SessionEvent e : events) {
                page.append(escape(new java.util.Date(e.time()) + "  " + e.endpoint() + "  " + e.name() + "  "
                        + e.message())).append('\n');
            }
        }
        page.append("</pre></body></html>");
        reply(exchange, 200, "text/html; charset=utf-8", page.toString());
    }

    private static String escape(String s) {
        return s.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;");
    }

    private static String hex(byte[] bytes) {
        StringBuilder sb = new StringBuilder();
        for (byte b : bytes) {
            sb.append(String.format("%02x", b));
        }
        return sb.toString();
    }

    private static byte[] unhex(String s) {
        if (s.length() % 2 != 0) {
            throw new IllegalArgumentException("key must be a hex string of even length");
        }
        byte[] out = new byte[s.length() / 2];
        for (int i = 0; i < out.length; i++) {
            int hi = Character.digit(s.charAt(2 * i), 16);
            int lo = Character.digit(s.charAt(2 * i + 1), 16);
            if (hi < 0 || lo < 0) {
                throw new IllegalArgumentException("key must be a hex string");
            }
            out[i] = (byte) (hi << 4 | lo);
        }
        return out;
    }

    // ---------------------------------------------------------------- main

    private static String option(Map<String, String> options, String name, String fallback) {
        return options.getOrDefault(name, fallback);
    }

    public static void main(String[] args) throws Exception {
        Map<String, String> options = new HashMap<>();
        for (int i = 0; i < args.length; i++) {
            if (args[i].equals("-h") || args[i].equals("--help")) {
                System.out.println("usage: InteropBootstrapServer [-lh host] [-lp 5783] [-slh host] [-slp 5784]"
                        + " [-wh host] [-wp 8081]");
                return;
            }
            if (!args[i].startsWith("-") || i + 1 >= args.length) {
                System.err.println("bad argument: " + args[i]);
                System.exit(2);
            }
            options.put(args[i].substring(1), args[++i]);
        }
        String coapHost = option(options, "lh", "127.0.0.1");
        int coapPort = Integer.parseInt(option(options, "lp", "5783"));
        String coapsHost = option(options, "slh", "127.0.0.1");
        int coapsPort = Integer.parseInt(option(options, "slp", "5784"));
        String webHost = option(options, "wh", "127.0.0.1");
        int webPort = Integer.parseInt(option(options, "wp", "8081"));

        InteropBootstrapServer front = new InteropBootstrapServer();

        LeshanBootstrapServerBuilder builder = new LeshanBootstrapServerBuilder();
        builder.setConfigStore(front.configStore);
        builder.setSecurityStore(front.securityStore);
        builder.setLocalAddress(coapHost, coapPort);
        builder.setLocalSecureAddress(coapsHost, coapsPort);
        LeshanBootstrapServer bsServer = builder.build();
        bsServer.addListener(front.sessionListener);
        bsServer.start();

        HttpServer web = HttpServer.create(new InetSocketAddress(webHost, webPort), 16);
        web.setExecutor(Executors.newCachedThreadPool());
        web.createContext("/api/bootstrap", front.guarded(front::handleBootstrap));
        web.createContext("/api/security", front.guarded(front::handleSecurity));
        web.createContext("/api/event", front.guarded(front::handleEvent));
        web.createContext("/", front.guarded(front::handlePage));
        web.start();

        System.out.println("LwM2M bootstrap server started at coap://" + coapHost + ":" + coapPort + " coaps://"
                + coapsHost + ":" + coapsPort + ", web at http://" + webHost + ":" + webPort + "/");
        Runtime.getRuntime().addShutdownHook(new Thread(() -> {
            web.stop(0);
            bsServer.destroy();
        }));
    }

    private interface Handler {
        void handle(HttpExchange exchange) throws IOException;
    }

    /** Every REST error becomes a 500 with its message instead of a dropped connection. */
    private com.sun.net.httpserver.HttpHandler guarded(Handler handler) {
        return exchange -> {
            try {
                handler.handle(exchange);
            } catch (RuntimeException | IOException e) {
                try {
                    replyError(exchange, 500, e.toString());
                } catch (IOException | RuntimeException ignored) {
                    exchange.close();
                }
            }
        };
    }
}
