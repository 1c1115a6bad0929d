/*
 * Copyright (c) 2026 The lwm2m_carrier authors
 * SPDX-License-Identifier: Apache-2.0
 */

import java.nio.charset.StandardCharsets;
import java.util.List;

import org.eclipse.leshan.client.californium.LeshanClient;
import org.eclipse.leshan.client.californium.LeshanClientBuilder;
import org.eclipse.leshan.client.object.Device;
import org.eclipse.leshan.client.object.Security;
import org.eclipse.leshan.client.object.Server;
import org.eclipse.leshan.client.observer.LwM2mClientObserverAdapter;
import org.eclipse.leshan.client.resource.LwM2mObjectEnabler;
import org.eclipse.leshan.client.resource.ObjectsInitializer;
import org.eclipse.leshan.client.servers.ServerIdentity;
import org.eclipse.leshan.core.LwM2mId;
import org.eclipse.leshan.core.ResponseCode;
import org.eclipse.leshan.core.request.BootstrapRequest;
import org.eclipse.leshan.core.request.RegisterRequest;
import org.eclipse.leshan.core.request.UpdateRequest;

/**
 * Leshan's own LwM2M client (leshan-client-cf 2.0.0-M4), used only to prove the interop harness
 * and its provisioning (PSK bootstrap, then PSK registration) before our client can run the same
 * flow; delete it together with tests/interop/test_reference_client.py when that is no longer
 * needed.
 *
 * <p>Usage: {@code ReferenceLeshanClient <endpoint> <bootstrap coaps URI> <bootstrap PSK hex>};
 * the PSK identity is the endpoint name. Prints one line per client event on stdout:
 * {@code REFERENCE_CLIENT <EVENT> [details]} with EVENT one of BOOTSTRAP_STARTED,
 * BOOTSTRAP_SUCCESS, BOOTSTRAP_FAILURE, BOOTSTRAP_TIMEOUT, REGISTRATION_SUCCESS,
 * REGISTRATION_FAILURE, REGISTRATION_TIMEOUT, UPDATE_SUCCESS, UPDATE_FAILURE, UPDATE_TIMEOUT.
 */
public final class ReferenceLeshanClient {

    private ReferenceLeshanClient() {
    }

    private static void say(String line) {
        System.out.println("REFERENCE_CLIENT " + line);
        System.out.flush();
    }

    private static byte[] unhex(String s) {
        byte[] out = new byte[s.length() / 2];
        for (int i = 0; i < out.length; i++) {
            out[i] = (byte) Integer.parseInt(s.substring(2 * i, 2 * i + 2), 16);
        }
        return out;
    }

    public static void main(String[] args) {
        if (args.length != 3) {
            System.err.println("usage: ReferenceLeshanClient <endpoint> <bootstrap coaps URI> <bootstrap PSK hex>");
            System.exit(2);
        }
        String endpoint = args[0];
        String bootstrapUri = args[1];
        byte[] bootstrapPsk = unhex(args[2]);

        ObjectsInitializer objects = new ObjectsInitializer();
        objects.setInstancesForObject(LwM2mId.SECURITY,
                Security.pskBootstrap(bootstrapUri, endpoint.getBytes(StandardCharsets.UTF_8), bootstrapPsk));
        objects.setClassForObject(LwM2mId.SERVER, Server.class);
        objects.setInstancesForObject(LwM2mId.DEVICE,
                new Device("Leshan reference client", "ReferenceLeshanClient", endpoint));
        List<LwM2mObjectEnabler> enablers = objects.createAll();

        LeshanClientBuilder builder = new LeshanClientBuilder(endpoint);
        builder.setLocalAddress("127.0.0.1", 0);
        builder.setObjects(enablers);
        LeshanClient client = builder.build();
        client.addObserver(new LwM2mClientObserverAdapter() {
            @Override
            public void onBootstrapStarted(ServerIdentity server, BootstrapRequest request) {
                say("BOOTSTRAP_STARTED " + server.getUri());
            }

            @Override
            public void onBootstrapSuccess(ServerIdentity server, BootstrapRequest request) {
                say("BOOTSTRAP_SUCCESS");
            }

            @Override
            public void onBootstrapFailure(ServerIdentity server, BootstrapRequest request, ResponseCode code,
                    String message, Exception cause) {
                say("BOOTSTRAP_FAILURE " + code + " " + message);
            }

            @Override
            public void onBootstrapTimeout(ServerIdentity server, BootstrapRequest request) {
                say("BOOTSTRAP_TIMEOUT");
            }

            @Override
            public void onRegistrationSuccess(ServerIdentity server, RegisterRequest request, String id) {
                say("REGISTRATION_SUCCESS " + id + " lifetime " + request.getLifetime());
            }

            @Override
            public void onRegistrationFailure(ServerIdentity server, RegisterRequest request, ResponseCode code,
                    String message, Exception cause) {
                say("REGISTRATION_FAILURE " + code + " " + message);
            }

            @Override
            public void onRegistrationTimeout(ServerIdentity server, RegisterRequest request) {
                say("REGISTRATION_TIMEOUT");
            }

            @Override
            public void onUpdateSuccess(ServerIdentity server, UpdateRequest request) {
                say("UPDATE_SUCCESS");
            }

            @Override
            public void onUpdateFailure(ServerIdentity server, UpdateRequest request, ResponseCode code,
                    String message, Exception cause) {
                say("UPDATE_FAILURE " + code + " " + message);
            }

            @Override
            public void onUpdateTimeout(ServerIdentity server, UpdateRequest request) {
                say("UPDATE_TIMEOUT");
            }
        });
        Runtime.getRuntime().addShutdownHook(new Thread(() -> client.destroy(false)));
        client.start();
    }
}
