/*
 * Copyright (c) 2026 The lwm2m_carrier authors
 * SPDX-License-Identifier: Apache-2.0
 */

import java.io.IOException;
import java.lang.reflect.Field;
import java.net.URLDecoder;
import java.nio.charset.StandardCharsets;
import java.util.Set;

import javax.servlet.http.HttpServlet;
import javax.servlet.http.HttpServletRequest;
import javax.servlet.http.HttpServletResponse;

import org.eclipse.jetty.server.Handler;
import org.eclipse.jetty.server.Server;
import org.eclipse.jetty.server.ShutdownMonitor;
import org.eclipse.jetty.servlet.ServletContextHandler;
import org.eclipse.jetty.servlet.ServletHolder;
import org.eclipse.jetty.util.component.LifeCycle;
import org.eclipse.leshan.core.observation.Observation;
import org.eclipse.leshan.core.request.CancelObservationRequest;
import org.eclipse.leshan.core.response.CancelObservationResponse;
import org.eclipse.leshan.server.californium.LeshanServer;
import org.eclipse.leshan.server.demo.LeshanServerDemo;
import org.eclipse.leshan.server.demo.servlet.ClientServlet;
import org.eclipse.leshan.server.registration.Registration;

/**
 * Leshan's LwM2M server demo (leshan-server-demo 2.0.0-M4), unchanged, plus one REST call it lacks.
 *
 * <p>{@code main} runs the demo's own {@code LeshanServerDemo.main} with the same arguments: same
 * options, stores, servlets and web UI as {@code java -jar leshan-server-demo.jar}. Once it runs, this
 * class finds the demo's {@code LeshanServer} (the Jetty server registers with Jetty's
 * {@code ShutdownMonitor}; its {@code ClientServlet} holds the LwM2M server) and adds, under the same
 * web port:
 *
 * <pre>
 *   DELETE /api/interop/clients/{ep}/{path}/observe[?timeout=s]
 *       active cancel (RFC 7641 §3.6, TS 1.0.2 §5.5.3 "Cancel Observation"): Leshan's own
 *       CancelObservationRequest, a GET with Observe=1 and the observation's token, sent over the
 *       client's session. Answer {"status": "CONTENT(205)", "success", "token": hex} (the demo's
 *       shape); 504 when the client did not answer in time, 400 when not registered, 404 when
 *       Leshan has no observation of that path. Leshan's observation itself is left in place: a
 *       client that keeps notifying is then still seen (COAPLOG, NOTIFICATION), not just Reset.
 * </pre>
 *
 * <p>The demo's own {@code DELETE /api/clients/{ep}/{path}/observe} in M4 is the passive cancel only
 * (Leshan forgets the observation; the next notification gets a Reset, int-302), which is why this
 * exists (int-303).
 */
public final class InteropLeshanServer {

    private InteropLeshanServer() {
    }

    public static void main(String[] args) throws Exception {
        LeshanServerDemo.main(args);
        Server jetty = findJetty();
        Handler handler = jetty.getHandler();
        if (!(handler instanceof ServletContextHandler)) {
            throw new IllegalStateException("unexpected demo web handler " + handler);
        }
        ServletContextHandler context = (ServletContextHandler) handler;
        LeshanServer leshan = findLeshan(context);
        context.addServlet(new ServletHolder(new InteropServlet(leshan)), "/api/interop/*");
        System.out.println("InteropLeshanServer: /api/interop/clients/{ep}/{path}/observe (active cancel) ready");
    }

    /** The demo's Jetty server: Jetty 9.4 registers every started Server with its ShutdownMonitor. */
    private static Server findJetty() throws ReflectiveOperationException {
        Field field = ShutdownMonitor.class.getDeclaredField("_lifeCycles");
        field.setAccessible(true);
        @SuppressWarnings("unchecked")
        Set<LifeCycle> lifeCycles = (Set<LifeCycle>) field.get(ShutdownMonitor.getInstance());
        synchronized (lifeCycles) {
            for (LifeCycle lifeCycle : lifeCycles) {
                if (lifeCycle instanceof Server) {
                    return (Server) lifeCycle;
                }
            }
        }
        throw new IllegalStateException("the demo's Jetty server is not registered with the ShutdownMonitor");
    }

    /** The LwM2M server the demo's ClientServlet serves. */
    private static LeshanServer findLeshan(ServletContextHandler context) throws ReflectiveOperationException {
        for (ServletHolder holder : context.getServletHandler().getServlets()) {
            Object servlet = holder.getServletInstance();
            if (servlet instanceof ClientServlet) {
                for (Field field : ClientServlet.class.getDeclaredFields()) {
                    if (field.getType() == LeshanServer.class) {
                        field.setAccessible(true);
                        return (LeshanServer) field.get(servlet);
                    }
                }
            }
        }
        throw new IllegalStateException("no ClientServlet with a LeshanServer in the demo's web context");
    }

    private static String hex(byte[] bytes) {
        StringBuilder out = new StringBuilder();
        for (byte b : bytes) {
            out.append(String.format("%02X", b));
        }
        return out.toString();
    }

    private static String quote(String text) {
        return "\"" + text.replace("\\", "\\\\").replace("\"", "\\\"") + "\"";
    }

    private static final class InteropServlet extends HttpServlet {
        private static final long serialVersionUID = 1L;
        private final transient LeshanServer leshan;

        InteropServlet(LeshanServer leshan) {
            this.leshan = leshan;
        }

        private static void reply(HttpServletResponse resp, int status, String contentType, String body)
                throws IOException {
            resp.setStatus(status);
            resp.setContentType(contentType);
            resp.setCharacterEncoding("UTF-8");
            resp.getWriter().write(body);
        }

        @Override
        protected void doDelete(HttpServletRequest req, HttpServletResponse resp) throws IOException {
            String info = req.getPathInfo();
            String prefix = "/clients/";
            String suffix = "/observe";
            if (info == null || !info.startsWith(prefix) || !info.endsWith(suffix)) {
                reply(resp, 404, "text/plain", "expected /api/interop/clients/{ep}/{path}/observe");
                return;
            }
            String rest = info.substring(prefix.length(), info.length() - suffix.length());
            int slash = rest.indexOf('/');
            if (slash <= 0) {
                reply(resp, 400, "text/plain", "Invalid path");
                return;
            }
            String endpoint = URLDecoder.decode(rest.substring(0, slash), StandardCharsets.UTF_8);
            String path = rest.substring(slash);
            long timeoutMs = 5000;
            String timeout = req.getParameter("timeout");
            if (timeout != null) {
                timeoutMs = Long.parseLong(timeout) * 1000;
            }
            Registration registration = leshan.getRegistrationService().getByEndpoint(endpoint);
            if (registration == null) {
                reply(resp, 400, "text/plain", String.format("no registered client with id '%s'", endpoint));
                return;
            }
            Observation observation = null;
            for (Observation candidate : leshan.getObservationService().getObservations(registration)) {
                if (candidate.getPath().toString().equals(path)) {
                    observation = candidate;
                    break;
                }
            }
            if (observation == null) {
                reply(resp, 404, "text/plain", "no observation of " + path + " for " + endpoint);
                return;
            }
            try {
                CancelObservationResponse response = leshan.send(registration,
                        new CancelObservationRequest(observation), timeoutMs);
                if (response == null) {
                    reply(resp, 504, "text/plain", "Request timeout");
                    return;
                }
                String body = "{\"status\":" + quote(response.getCode().toString()) + ",\"success\":"
                        + response.isSuccess() + ",\"failure\":" + response.isFailure() + ",\"token\":"
                        + quote(hex(observation.getId()))
                        + (response.getErrorMessage() == null ? ""
                                : ",\"errormessage\":" + quote(response.getErrorMessage()))
                        + "}";
                reply(resp, 200, "application/json", body);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                reply(resp, 500, "text/plain", "Thread Interrupted");
            } catch (RuntimeException e) {
                reply(resp, 500, "text/plain", "Request failed: " + e);
            }
        }
    }
}
