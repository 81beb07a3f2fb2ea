package com.pcusage.examples;

import static com.pcusage.testing.LiveStack.decimal;
import static com.pcusage.testing.LiveStack.string;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.google.gson.JsonObject;
import com.pcusage.testing.LiveStack;
import com.pcusage.testing.OwnServer;
import com.pcusage.testing.TestCa;
import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.math.BigDecimal;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

/** The Totals example against the live stack, checked with totals computed here from the emulator's raw pages. */
class TotalsTest {
  /** What a run printed and returned. */
  private record Run(int status, String out, String err) {}

  private static Run run(Map<String, String> env, String... args) {
    ByteArrayOutputStream out = new ByteArrayOutputStream();
    ByteArrayOutputStream err = new ByteArrayOutputStream();
    int status =
        Totals.run(
            args,
            env,
            new PrintStream(out, true, StandardCharsets.UTF_8),
            new PrintStream(err, true, StandardCharsets.UTF_8));
    return new Run(status, out.toString(StandardCharsets.UTF_8), err.toString(StandardCharsets.UTF_8));
  }

  private static Map<String, String> env(String token) {
    Map<String, String> env = new HashMap<>();
    env.put("PCUSAGE_SERVER", LiveStack.server());
    env.put("PCUSAGE_ACCESS_TOKEN", token);
    return env;
  }

  @BeforeEach
  @AfterEach
  void noFaults() throws Exception {
    LiveStack.clearFaults();
  }

  /**
   * The expected output, computed independently of the client: raw JSON numbers summed as BigDecimal, keys sorted by
   * their UTF-8 bytes, totals written without exponent or trailing zeros.
   */
  private static String expectedTotals() throws Exception {
    List<JsonObject> raw = LiveStack.rawRecords();
    Map<String, long[]> counts = new HashMap<>();
    Map<String, BigDecimal> sums = new HashMap<>();
    for (JsonObject record : raw) {
      String code = string(record, "currencyCode").orElse("");
      String locale = string(record, "currencyLocale").orElse("");
      String key = !code.isEmpty() ? code : !locale.isEmpty() ? "locale:" + locale : "unknown";
      counts.computeIfAbsent(key, k -> new long[1])[0]++;
      BigDecimal cost = decimal(record, "totalCost").orElse(BigDecimal.ZERO);
      sums.merge(key, cost, BigDecimal::add);
    }
    // Keys as ISO-8859-1 strings of their UTF-8 bytes sort by those bytes with String's own order.
    TreeMap<String, String> byBytes = new TreeMap<>();
    for (String key : counts.keySet()) {
      byBytes.put(new String(key.getBytes(StandardCharsets.UTF_8), StandardCharsets.ISO_8859_1), key);
    }
    StringBuilder text = new StringBuilder();
    for (String key : byBytes.values()) {
      String total = sums.get(key).toPlainString();
      if (total.contains(".")) {
        total = total.replaceAll("0+$", "").replaceAll("\\.$", "");
      }
      if (total.equals("-0")) {
        total = "0";
      }
      text.append(key).append('\t').append(counts.get(key)[0]).append('\t').append(total).append('\n');
    }
    return text.toString();
  }

  @Test
  void printsExactPerCurrencyTotals() throws Exception {
    String expected = expectedTotals();
    Run run = run(env(LiveStack.token()), "--timeout=60s");
    assertEquals(0, run.status(), run.err());
    assertEquals(expected, run.out());
    assertTrue(run.out().lines().count() > 2, "several currency groups:\n" + run.out());
  }

  @Test
  void serverFlagOverridesTheEnvironment() throws Exception {
    Map<String, String> env = env(LiveStack.token());
    env.put("PCUSAGE_SERVER", "127.0.0.1:1");
    Run run = run(env, "--server", LiveStack.server(), "--timeout", "60");
    assertEquals(0, run.status(), run.err());
    assertEquals(expectedTotals(), run.out());
  }

  @Test
  void failedCallPrintsCodeMessageAndReason() {
    Run run = run(env("not-the-emulator-token"));
    assertEquals(1, run.status());
    assertEquals("", run.out());
    assertTrue(run.err().contains("totals: UNAUTHENTICATED: "), run.err());
    assertTrue(run.err().contains("totals: reason PARTNER_CENTER_UNAUTHENTICATED"), run.err());
  }

  @Test
  void usageErrorsExitTwo() {
    assertEquals(2, run(env("x"), "--bogus").status());
    assertEquals(2, run(env("x"), "--timeout=-5s").status());
    assertEquals(2, run(env("x"), "--server").status());
  }

  @Test
  void tlsFlagsNeedTheirPartners() {
    assertEquals(2, run(env("x"), "--cert-file=client.pem").status());
    assertEquals(2, run(env("x"), "--key-file=client.key").status());
    assertEquals(2, run(env("x"), "--ca-file=").status());
  }

  /**
   * Over mTLS with an API key: --ca-file trusts the test's CA, --cert-file and --key-file show the client certificate
   * the listener requires, and $PCUSAGE_API_KEY authenticates the caller.
   */
  @Test
  void printsTotalsOverMutualTlsWithAnApiKey(@TempDir Path dir) throws Exception {
    String expected = expectedTotals();
    TestCa serverCa = TestCa.create(Files.createDirectories(dir.resolve("server")), "totals-server-ca");
    TestCa.Issued cert = serverCa.issueServer();
    TestCa clientCa = TestCa.create(Files.createDirectories(dir.resolve("clients")), "totals-client-ca");
    TestCa.Issued client = clientCa.issueClient("totals");
    String apiKey = "totals-key-0123456789";
    try (OwnServer server =
        OwnServer.startTls(dir, cert, "--tls_client_ca_file=" + clientCa.certificateFile(),
            "--api_keys_file=" + OwnServer.apiKeysFile(dir, Map.of("totals", apiKey)))) {
      String[] args = {
        "--server=" + server.address(),
        "--ca-file=" + serverCa.certificateFile(),
        "--cert-file=" + client.certificateFile(),
        "--key-file=" + client.keyFile()
      };
      Map<String, String> env = env(LiveStack.token());
      env.put("PCUSAGE_API_KEY", apiKey);
      Run run = run(env, args);
      assertEquals(0, run.status(), run.err());
      assertEquals(expected, run.out());

      env.remove("PCUSAGE_API_KEY");
      Run refused = run(env, args);
      assertEquals(1, refused.status());
      assertEquals("", refused.out());
      assertTrue(refused.err().contains("totals: reason CALLER_UNAUTHENTICATED"), refused.err());
    }
  }

  @Test
  void refusesAPlaintextApiKeyOffLoopback() {
    Map<String, String> env = env(LiveStack.token());
    env.put("PCUSAGE_API_KEY", "totals-key-0123456789");
    Run run = run(env, "--server=pcusage.example.com:443");
    assertEquals(1, run.status());
    assertTrue(run.err().contains("loopback"), run.err());
    assertFalse(run.err().contains("totals-key-0123456789"), run.err());
  }

  @ParameterizedTest
  @CsvSource({"0.00, 0", "-0.0, 0", "0E+3, 0", "26.50, 26.5", "1.50, 1.5", "1E+3, 1000", "100, 100", "-1.50, -1.5",
      "2.5e-3, 0.0025", "12.000, 12"})
  void formatsTotalsPlainly(String sum, String printed) {
    assertEquals(printed, CurrencyTotals.format(new BigDecimal(sum)));
  }
}
