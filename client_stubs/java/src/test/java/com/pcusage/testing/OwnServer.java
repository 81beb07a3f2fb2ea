package com.pcusage.testing;

import static org.junit.jupiter.api.Assertions.fail;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;

/**
 * A pcusage_server of a test's own (from {@code bazel-bin/server}, which tools/with_stack builds), on a free loopback
 * port, reading from the live stack's emulator, with the flags the test needs (TLS, API keys, an allow list). Close it
 * to stop it.
 */
public final class OwnServer implements AutoCloseable {
  // Bounds only a start that never finishes; nothing is asserted about time.
  private static final Duration START_GUARD = Duration.ofSeconds(60);

  private final Process process;
  private final Path log;
  private final String address;

  private OwnServer(Process process, Path log, String address) {
    this.process = process;
    this.log = log;
    this.address = address;
  }

  /** The repository's root: the {@code pcusage.repoRoot} system property, which the pom sets. */
  public static Path repoRoot() {
    String root = System.getProperty("pcusage.repoRoot");
    if (root == null || root.isEmpty()) {
      fail("the pcusage.repoRoot system property is not set (the pom's Surefire configuration sets it)");
    }
    return Path.of(root).toAbsolutePath().normalize();
  }

  /** {@code bazel-bin/server/NAME}; fails the test when it has not been built. */
  public static Path binary(String name) {
    Path path = repoRoot().resolve("bazel-bin/server").resolve(name);
    if (!Files.isExecutable(path)) {
      fail(path + " is not built: bazel build //server:" + name + " (client_stubs/java/run_tests does)");
    }
    return path;
  }

  /**
   * Starts pcusage_server with {@code flags} after those every test server has: a free loopback port, the emulator of
   * {@code $PCUSAGE_EMULATOR} as Partner Center, callers' tokens passed through, no shared snapshots.
   */
  public static OwnServer start(Path dir, String... flags) throws IOException, InterruptedException {
    Path portFile = dir.resolve("server.port");
    Path log = dir.resolve("server.log");
    List<String> command = new ArrayList<>();
    command.add(binary("pcusage_server").toString());
    command.add("--listen=127.0.0.1:0");
    command.add("--port_file=" + portFile);
    command.add("--partner_center_url=http://" + LiveStack.env("PCUSAGE_EMULATOR"));
    command.add("--snapshot_max_staleness=0");
    command.add("--max_attempts=2");
    command.add("--initial_backoff=10ms");
    command.addAll(List.of(flags));
    Process process =
        new ProcessBuilder(command).redirectErrorStream(true).redirectOutput(log.toFile()).start();
    OwnServer server = null;
    try {
      Instant deadline = Instant.now().plus(START_GUARD);
      while (true) {
        if (Files.exists(portFile)) {
          String port = Files.readString(portFile, StandardCharsets.UTF_8).trim();
          if (!port.isEmpty()) {
            server = new OwnServer(process, log, "127.0.0.1:" + port);
            return server;
          }
        }
        if (process.waitFor(50, TimeUnit.MILLISECONDS)) {
          fail("pcusage_server " + String.join(" ", flags) + " exited with " + process.exitValue() + ":\n" + tail(log));
        }
        if (Instant.now().isAfter(deadline)) {
          fail("pcusage_server did not write its port file within " + START_GUARD + ":\n" + tail(log));
        }
      }
    } finally {
      if (server == null) {
        process.destroyForcibly().waitFor();
      }
    }
  }

  /** Starts pcusage_server as {@link #start} does, its listener speaking TLS with {@code certificate}. */
  public static OwnServer startTls(Path dir, TestCa.Issued certificate, String... flags)
      throws IOException, InterruptedException {
    List<String> all = new ArrayList<>();
    all.add("--tls_cert_file=" + certificate.certificateFile());
    all.add("--tls_key_file=" + certificate.keyFile());
    all.addAll(List.of(flags));
    return start(dir, all.toArray(String[]::new));
  }

  /** host:port of the server. */
  public String address() {
    return address;
  }

  /** The end of the server's log, for failure messages. */
  public String logTail() throws IOException {
    return tail(log);
  }

  /** Stops the server (SIGTERM, then SIGKILL if it has not exited after 10 s) and waits for it. */
  @Override
  public void close() {
    process.destroy();
    try {
      if (!process.waitFor(10, TimeUnit.SECONDS)) {
        process.destroyForcibly().waitFor();
      }
    } catch (InterruptedException e) {
      process.destroyForcibly();
      Thread.currentThread().interrupt();
    }
  }

  /**
   * Writes an {@code --api_keys_file} with one line per name and key, each made by {@code pcusage_api_key} (a salted
   * hash: the key itself is not in the file), and returns its path.
   */
  public static Path apiKeysFile(Path dir, Map<String, String> keys) throws IOException, InterruptedException {
    StringBuilder lines = new StringBuilder();
    for (Map.Entry<String, String> key : keys.entrySet()) {
      Process process =
          new ProcessBuilder(binary("pcusage_api_key").toString(), key.getKey())
              .redirectError(ProcessBuilder.Redirect.INHERIT)
              .start();
      process.getOutputStream().write((key.getValue() + "\n").getBytes(StandardCharsets.UTF_8));
      process.getOutputStream().close();
      String line = new String(process.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
      if (process.waitFor() != 0) {
        fail("pcusage_api_key " + key.getKey() + " exited with " + process.exitValue());
      }
      lines.append(line);
    }
    Path file = dir.resolve("api_keys");
    Files.writeString(file, lines, StandardCharsets.UTF_8);
    return file;
  }

  private static String tail(Path log) throws IOException {
    String text = Files.exists(log) ? Files.readString(log, StandardCharsets.UTF_8) : "";
    return text.length() > 4000 ? "..." + text.substring(text.length() - 4000) : text;
  }
}
