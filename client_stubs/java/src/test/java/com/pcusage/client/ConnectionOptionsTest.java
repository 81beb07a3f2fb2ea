package com.pcusage.client;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.grpc.InsecureChannelCredentials;
import io.grpc.ManagedChannel;
import io.grpc.TlsChannelCredentials;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Optional;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/** {@link ConnectionOptions} without a server: the loopback rule for API keys, TLS implied, PEM files read early. */
class ConnectionOptionsTest {
  private static final String KEY = "k-0123456789abcdef";

  @ParameterizedTest
  @ValueSource(
      strings = {
        "127.0.0.1:50051", "localhost:50051", "LocalHost:1", "[::1]:50051", "dns:///localhost:50051", "127.0.0.2:1"
      })
  void apiKeyGoesInPlaintextToLoopback(String target) throws Exception {
    assertTrue(ConnectionOptions.isLoopbackTarget(target), target);
    ManagedChannel channel = ConnectionOptions.builder().apiKey(KEY).build().openChannel(target);
    channel.shutdownNow();
  }

  @ParameterizedTest
  @ValueSource(strings = {"localhost", "::1", "[::1]", "unix:///run/pcusage.sock", "unix-abstract:pcusage"})
  void otherLoopbackSpellings(String target) {
    assertTrue(ConnectionOptions.isLoopbackTarget(target), target);
  }

  @ParameterizedTest
  @ValueSource(
      strings = {
        "pcusage.example.com:443", "10.0.0.8:50051", "[2001:db8::1]:50051", "dns:///pcusage.example.com:443",
        "localhost.example.com:1"
      })
  void apiKeyNeedsTlsOffLoopback(String target) throws Exception {
    assertFalse(ConnectionOptions.isLoopbackTarget(target), target);
    IllegalArgumentException refused =
        assertThrows(
            IllegalArgumentException.class,
            () -> ConnectionOptions.builder().apiKey(KEY).build().openChannel(target));
    assertTrue(refused.getMessage().contains("loopback"), refused.getMessage());
    assertFalse(refused.getMessage().contains(KEY), refused.getMessage());
    ConnectionOptions.builder().apiKey(KEY).tls(true).build().openChannel(target).shutdownNow();
    ConnectionOptions.builder().apiKey(KEY).insecureApiKey(true).build().openChannel(target).shutdownNow();
  }

  @Test
  void apiKeyMustBePrintableAscii() {
    assertThrows(IllegalArgumentException.class, () -> ConnectionOptions.builder().apiKey("k\r\nx-other: 1"));
    assertEquals(Optional.empty(), ConnectionOptions.builder().apiKey("").build().apiKey());
  }

  @Test
  void tlsIsImpliedByItsSettings(@TempDir Path dir) throws Exception {
    assertFalse(ConnectionOptions.builder().build().tls());
    assertTrue(ConnectionOptions.builder().build().channelCredentials() instanceof InsecureChannelCredentials);
    assertTrue(ConnectionOptions.builder().serverName("pcusage.test").build().tls());
    assertTrue(ConnectionOptions.builder().tls(true).build().channelCredentials() instanceof TlsChannelCredentials);
    Path ca = Files.writeString(dir.resolve("ca.pem"), "not read until used");
    assertTrue(ConnectionOptions.builder().caFile(ca).build().tls());
  }

  @Test
  void missingPemFilesFailWhenTheChannelIsMade(@TempDir Path dir) {
    Path missing = dir.resolve("missing.pem");
    assertThrows(
        UncheckedIOException.class,
        () -> ConnectionOptions.builder().caFile(missing).build().openChannel("127.0.0.1:1"));
    assertThrows(
        UncheckedIOException.class,
        () -> ConnectionOptions.builder().clientCertificate(missing, missing).build().openChannel("127.0.0.1:1"));
  }
}
