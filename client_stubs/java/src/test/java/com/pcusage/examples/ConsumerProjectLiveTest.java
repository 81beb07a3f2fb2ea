package com.pcusage.examples;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

import com.google.gson.JsonObject;
import com.pcusage.testing.LiveStack;
import com.pcusage.testing.OwnServer;
import com.pcusage.testing.TestCa;
import java.io.IOException;
import java.io.InputStream;
import java.math.BigDecimal;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;
import java.util.zip.ZipEntry;
import java.util.zip.ZipFile;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The client as a Maven user gets it: the artifacts {@code mvn install} put into the local repository (jar, pom,
 * sources and javadoc jars, of this build), and the consumer example ({@code client_stubs/java/consumer}) built with
 * {@code mvn package} as a fresh project outside the repository, then run against a TLS server with an API key.
 * run_tests installs the client before the tests run.
 */
class ConsumerProjectLiveTest {
  // Bounds each child process so that a hung build fails the test; nothing is asserted about time.
  private static final long HANG_GUARD_MINUTES = 10;

  private static String property(String name) {
    String value = System.getProperty(name);
    if (value == null || value.isEmpty()) {
      fail("system property " + name + " is not set (the pom's Surefire configuration sets it)");
    }
    return value;
  }

  private static Path installed(String classifier) {
    String artifactId = property("pcusage.artifactId");
    String version = property("pcusage.version");
    String file = artifactId + "-" + version + (classifier.isEmpty() ? "" : "-" + classifier) + ".jar";
    Path path =
        Path.of(property("pcusage.localRepository"))
            .resolve(property("pcusage.groupId").replace('.', '/'))
            .resolve(artifactId)
            .resolve(version)
            .resolve(file);
    if (!Files.exists(path)) {
      fail(path + " is not installed: run `mvn install` first (client_stubs/java/run_tests does)");
    }
    return path;
  }

  private static byte[] entry(ZipFile zip, String name) throws IOException {
    ZipEntry entry = zip.getEntry(name);
    if (entry == null) {
      fail(zip.getName() + " has no " + name);
    }
    try (InputStream in = zip.getInputStream(entry)) {
      return in.readAllBytes();
    }
  }

  @Test
  void installedArtifactsAreThisBuildWithSourcesAndJavadoc() throws Exception {
    String helper = "com/pcusage/client/ConnectionOptions";
    try (ZipFile jar = new ZipFile(installed("").toFile())) {
      assertArrayEquals(
          Files.readAllBytes(Path.of("target/classes", helper + ".class")),
          entry(jar, helper + ".class"),
          "the installed jar is not this build: run `mvn install` first");
      entry(jar, "com/pcusage/partnercenter/usage/v1/UsageRecordsServiceGrpc.class");
      entry(jar, "com/pcusage/client/ListOptions.class");
      entry(jar, "com/pcusage/client/BudgetWatch.class");
    }
    try (ZipFile sources = new ZipFile(installed("sources").toFile())) {
      assertEquals(
          Files.readString(Path.of("src/main/java", helper + ".java")),
          new String(entry(sources, helper + ".java"), StandardCharsets.UTF_8));
      entry(sources, "com/pcusage/partnercenter/usage/v1/UsageRecordsServiceGrpc.java");
    }
    try (ZipFile javadoc = new ZipFile(installed("javadoc").toFile())) {
      entry(javadoc, "index.html");
      String page = new String(entry(javadoc, helper + ".html"), StandardCharsets.UTF_8);
      assertTrue(page.contains("clientCertificate"), "the javadoc page of ConnectionOptions documents its builder");
      entry(javadoc, "com/pcusage/partnercenter/usage/v1/UsageRecordsServiceGrpc.html");
      String watch = new String(entry(javadoc, "com/pcusage/client/BudgetWatch.html"), StandardCharsets.UTF_8);
      assertTrue(watch.contains("at least once across reconnects"), "the javadoc of BudgetWatch states its delivery");
    }
  }

  @Test
  void consumerExampleDependsOnThisVersion() throws IOException {
    String pom = Files.readString(Path.of("consumer/pom.xml"));
    assertTrue(
        pom.contains("<pcusage.version>" + property("pcusage.version") + "</pcusage.version>"),
        "consumer/pom.xml does not depend on pcusage-client " + property("pcusage.version"));
  }

  @Test
  void freshProjectBuildsAndListsOverTlsWithAnApiKey(@TempDir Path dir) throws Exception {
    Path project = Files.createDirectories(dir.resolve("usage-report"));
    assertFalse(
        project.toAbsolutePath().startsWith(OwnServer.repoRoot()), project + " is inside the repository");
    copyTree(Path.of("consumer"), project);
    run(
        project,
        Map.of(),
        "mvn", "-B", "-ntp", "-Dstyle.color=never",
        "-Dmaven.repo.local=" + property("pcusage.localRepository"),
        "-Dpcusage.version=" + property("pcusage.version"),
        "package");

    TestCa ca = TestCa.create(dir, "consumer-test-ca");
    TestCa.Issued cert = ca.issueServer();
    String apiKey = "consumer-key-0123456789";
    try (OwnServer server =
        OwnServer.startTls(dir, cert, "--api_keys_file=" + OwnServer.apiKeysFile(dir, Map.of("consumer", apiKey)))) {
      String classpath =
          project.resolve("target/usage-report-1.0.jar")
              + ":"
              + Files.readString(project.resolve("target/classpath.txt")).trim();
      String out =
          run(
              project,
              Map.of("PCUSAGE_ACCESS_TOKEN", LiveStack.token(), "PCUSAGE_API_KEY", apiKey),
              "java", "-cp", classpath, "com.example.usage.UsageReport",
              "--server=" + server.address(), "--ca-file=" + ca.certificateFile());

      List<JsonObject> raw = LiveStack.rawRecords();
      BigDecimal usd = BigDecimal.ZERO;
      for (JsonObject record : raw) {
        usd = usd.add(LiveStack.decimal(record, "usdTotalCost").orElse(BigDecimal.ZERO));
      }
      String[] lines = out.split("\n");
      assertEquals(2, lines.length, out);
      assertEquals("records\t" + raw.size(), lines[0]);
      assertTrue(lines[1].startsWith("usd_total_cost\t"), out);
      assertEquals(0, usd.compareTo(new BigDecimal(lines[1].substring(lines[1].indexOf('\t') + 1))), out);
    }
  }

  private static void copyTree(Path from, Path to) throws IOException {
    List<Path> paths;
    try (Stream<Path> walk = Files.walk(from)) {
      paths = walk.filter(p -> !p.startsWith(from.resolve("target"))).toList();
    }
    for (Path path : paths) {
      Path target = to.resolve(from.relativize(path).toString());
      if (Files.isDirectory(path)) {
        Files.createDirectories(target);
      } else {
        Files.copy(path, target);
      }
    }
  }

  /** Runs a command in {@code dir} and returns its stdout; fails the test with its output if it fails. */
  private static String run(Path dir, Map<String, String> env, String... command)
      throws IOException, InterruptedException {
    Path stdout = Files.createTempFile(dir.getParent(), "stdout", ".txt");
    Path stderr = Files.createTempFile(dir.getParent(), "stderr", ".txt");
    ProcessBuilder builder =
        new ProcessBuilder(command).directory(dir.toFile()).redirectOutput(stdout.toFile()).redirectError(
            stderr.toFile());
    builder.environment().putAll(env);
    Process process = builder.start();
    if (!process.waitFor(HANG_GUARD_MINUTES, TimeUnit.MINUTES)) {
      process.destroyForcibly().waitFor();
      fail(String.join(" ", command) + " did not finish within " + HANG_GUARD_MINUTES + " minutes");
    }
    String out = Files.readString(stdout);
    if (process.exitValue() != 0) {
      List<String> shown = new ArrayList<>(List.of(String.join(" ", command) + " exited with " + process.exitValue()));
      shown.add(out.length() > 6000 ? out.substring(out.length() - 6000) : out);
      shown.add(Files.readString(stderr));
      fail(String.join("\n", shown));
    }
    return out;
  }
}
