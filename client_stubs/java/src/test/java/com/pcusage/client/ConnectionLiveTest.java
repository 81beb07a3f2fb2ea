package com.pcusage.client;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;

import com.google.gson.JsonObject;
import com.pcusage.testing.LiveStack;
import com.pcusage.testing.OwnServer;
import com.pcusage.testing.TestCa;
import io.grpc.ManagedChannel;
import io.grpc.Status;
import io.grpc.StatusRuntimeException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Nested;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;
import org.junit.jupiter.api.io.TempDir;

/**
 * {@link ConnectionOptions} against pcusage servers of the test's own, each reading from the live stack's emulator: API
 * keys in plaintext on loopback, a TLS listener with API keys, and an mTLS listener with an allow list. Certificates
 * come from CAs made here.
 */
class ConnectionLiveTest {
  private static final Duration CALL_TIMEOUT = Duration.ofSeconds(60);
  private static final String API_KEY = "java-client-key-0123456789";

  private static List<String> expectedIds;

  @BeforeAll
  static void readEmulator() throws Exception {
    expectedIds = new ArrayList<>();
    for (JsonObject record : LiveStack.rawRecords()) {
      expectedIds.add(record.get("id").getAsString());
    }
  }

  /** Lists every record through {@code target} with {@code options} and returns their ids. */
  private static List<String> listIds(String target, ConnectionOptions options) throws InterruptedException {
    ManagedChannel channel = options.openChannel(target);
    try (UsageRecordStream records =
        new UsageRecordsClient(channel, LiveStack.token()).listUsageRecords(CALL_TIMEOUT)) {
      List<String> ids = new ArrayList<>();
      records.forEachRemaining(record -> ids.add(record.getId()));
      return ids;
    } finally {
      LiveStack.shutdown(channel);
    }
  }

  /** Asserts that a listing through {@code target} fails with {@code code} and, when not null, {@code reason}. */
  private static ErrorDetails assertRefused(String target, ConnectionOptions options, Status.Code code, String reason)
      throws InterruptedException {
    StatusRuntimeException e = assertThrows(StatusRuntimeException.class, () -> listIds(target, options));
    ErrorDetails details = ErrorDetails.from(e);
    assertEquals(code, details.code(), details.message());
    if (reason != null) {
      assertEquals(reason, details.reason(), details.message());
    }
    return details;
  }

  @Nested
  @TestInstance(TestInstance.Lifecycle.PER_CLASS)
  class ApiKeys {
    private OwnServer server;

    @BeforeAll
    void start(@TempDir Path dir) throws Exception {
      server = OwnServer.start(dir, "--api_keys_file=" + OwnServer.apiKeysFile(dir, Map.of("java-client", API_KEY)));
    }

    @AfterAll
    void stop() throws Exception {
      server.close();
    }

    @Test
    void rightKeyListsEverything() throws Exception {
      assertEquals(expectedIds, listIds(server.address(), ConnectionOptions.builder().apiKey(API_KEY).build()));
    }

    @Test
    void localhostTargetCountsAsLoopback() throws Exception {
      String target = server.address().replace("127.0.0.1", "localhost");
      assertEquals(expectedIds, listIds(target, ConnectionOptions.builder().apiKey(API_KEY).build()));
    }

    @Test
    void wrongKeyIsRefused() throws Exception {
      ErrorDetails details =
          assertRefused(
              server.address(),
              ConnectionOptions.builder().apiKey("not-" + API_KEY).build(),
              Status.Code.UNAUTHENTICATED,
              "CALLER_UNAUTHENTICATED");
      assertFalse(details.message().contains(API_KEY), details.message());
    }

    @Test
    void missingKeyIsRefused() throws Exception {
      assertRefused(
          server.address(),
          ConnectionOptions.builder().build(),
          Status.Code.UNAUTHENTICATED,
          "CALLER_UNAUTHENTICATED");
    }
  }

  @Nested
  @TestInstance(TestInstance.Lifecycle.PER_CLASS)
  class Tls {
    private OwnServer server;
    private TestCa ca;
    private Path dir;

    @BeforeAll
    void start(@TempDir Path dir) throws Exception {
      this.dir = dir;
      ca = TestCa.create(dir, "pcusage-test-ca");
      TestCa.Issued cert = ca.issueServer("pcusage.test");
      Path keys = OwnServer.apiKeysFile(dir, Map.of("java-client", API_KEY));
      server = OwnServer.startTls(dir, cert, "--api_keys_file=" + keys);
    }

    @AfterAll
    void stop() throws Exception {
      server.close();
    }

    @Test
    void caFileAndApiKeyListEverything() throws Exception {
      assertEquals(
          expectedIds,
          listIds(server.address(), ConnectionOptions.builder().caFile(ca.certificateFile()).apiKey(API_KEY).build()));
    }

    @Test
    void serverNameIsVerified() throws Exception {
      ConnectionOptions.Builder options = ConnectionOptions.builder().caFile(ca.certificateFile()).apiKey(API_KEY);
      assertEquals(expectedIds, listIds(server.address(), options.serverName("pcusage.test").build()));
      assertRefused(server.address(), options.serverName("other.test").build(), Status.Code.UNAVAILABLE, null);
    }

    @Test
    void defaultTrustDoesNotKnowTheTestCa() throws Exception {
      assertRefused(
          server.address(),
          ConnectionOptions.builder().tls(true).apiKey(API_KEY).build(),
          Status.Code.UNAVAILABLE,
          null);
    }

    @Test
    void anotherCaIsNotTrusted() throws Exception {
      Path otherDir = Files.createDirectories(dir.resolve("other"));
      TestCa other = TestCa.create(otherDir, "another-ca");
      assertRefused(
          server.address(),
          ConnectionOptions.builder().caFile(other.certificateFile()).apiKey(API_KEY).build(),
          Status.Code.UNAVAILABLE,
          null);
    }

    @Test
    void plaintextToATlsListenerFails() throws Exception {
      assertRefused(
          server.address(), ConnectionOptions.builder().apiKey(API_KEY).build(), Status.Code.UNAVAILABLE, null);
    }

    @Test
    void missingApiKeyIsRefused() throws Exception {
      assertRefused(
          server.address(),
          ConnectionOptions.builder().caFile(ca.certificateFile()).build(),
          Status.Code.UNAUTHENTICATED,
          "CALLER_UNAUTHENTICATED");
    }
  }

  @Nested
  @TestInstance(TestInstance.Lifecycle.PER_CLASS)
  class MutualTls {
    private OwnServer server;
    private TestCa serverCa;
    private TestCa clientCa;
    private Path dir;

    @BeforeAll
    void start(@TempDir Path dir) throws Exception {
      this.dir = dir;
      serverCa = TestCa.create(Files.createDirectories(dir.resolve("server")), "pcusage-server-ca");
      TestCa.Issued cert = serverCa.issueServer();
      clientCa = TestCa.create(Files.createDirectories(dir.resolve("clients")), "pcusage-client-ca");
      Path allowList = Files.writeString(dir.resolve("allow"), "java-client\n");
      server =
          OwnServer.startTls(dir, cert, "--tls_client_ca_file=" + clientCa.certificateFile(),
              "--client_allow_list_file=" + allowList);
    }

    @AfterAll
    void stop() throws Exception {
      server.close();
    }

    private ConnectionOptions withCertificate(TestCa.Issued client) {
      return ConnectionOptions.builder()
          .caFile(serverCa.certificateFile())
          .clientCertificate(client.certificateFile(), client.keyFile())
          .build();
    }

    @Test
    void allowedCertificateListsEverything() throws Exception {
      assertEquals(expectedIds, listIds(server.address(), withCertificate(clientCa.issueClient("java-client"))));
    }

    @Test
    void certificateNotOnTheAllowListIsRefused() throws Exception {
      assertRefused(
          server.address(),
          withCertificate(clientCa.issueClient("stranger")),
          Status.Code.UNAUTHENTICATED,
          "CALLER_UNAUTHENTICATED");
    }

    @Test
    void noCertificateFailsTheHandshake() throws Exception {
      assertRefused(
          server.address(),
          ConnectionOptions.builder().caFile(serverCa.certificateFile()).build(),
          Status.Code.UNAVAILABLE,
          null);
    }

    @Test
    void certificateOfAnotherCaFailsTheHandshake() throws Exception {
      TestCa other = TestCa.create(Files.createDirectories(dir.resolve("other")), "another-ca");
      assertRefused(server.address(), withCertificate(other.issueClient("java-client")), Status.Code.UNAVAILABLE, null);
    }
  }
}
