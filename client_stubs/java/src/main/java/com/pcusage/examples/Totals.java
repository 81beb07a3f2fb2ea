package com.pcusage.examples;

import com.pcusage.client.ConnectionOptions;
import com.pcusage.client.ErrorDetails;
import com.pcusage.client.UsageRecordStream;
import com.pcusage.client.UsageRecordsClient;
import io.grpc.ManagedChannel;
import io.grpc.StatusRuntimeException;
import java.io.FileDescriptor;
import java.io.FileOutputStream;
import java.io.PrintStream;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;
import java.time.format.DateTimeParseException;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.TimeUnit;

/**
 * Lists every usage record through pcusage and prints, per currency, the number of records and the exact sum of
 * their {@code total_cost}: {@code <key>\t<records>\t<total>} lines sorted by key.
 *
 * <pre>
 * PCUSAGE_ACCESS_TOKEN=... [PCUSAGE_API_KEY=...] java -cp ... com.pcusage.examples.Totals [--server=HOST:PORT]
 *     [--timeout=60s] [--tls] [--ca-file=CA.pem] [--cert-file=CLIENT.pem --key-file=CLIENT.key] [--server-name=NAME]
 * </pre>
 *
 * <p>The server defaults to {@code $PCUSAGE_SERVER}, else {@code 127.0.0.1:50051}; the Partner Center token comes from
 * {@code $PCUSAGE_ACCESS_TOKEN} and is sent as {@code authorization: Bearer} metadata, the caller's API key from
 * {@code $PCUSAGE_API_KEY} as {@code x-api-key} (in plaintext only to loopback). The TLS flags are those of {@link
 * ConnectionOptions}. Exit status 0 on success, 1 when the call fails (code, message and ErrorInfo reason on stderr),
 * 2 for usage errors.
 */
public final class Totals {
  private static final String PROGRAM = "totals";
  private static final String USAGE =
      "usage: totals [--server=HOST:PORT] [--timeout=DURATION] [--tls] [--ca-file=FILE]\n"
          + "              [--cert-file=FILE --key-file=FILE] [--server-name=NAME]\n"
          + "  --server       pcusage's address (default: $PCUSAGE_SERVER, else 127.0.0.1:50051)\n"
          + "  --timeout      deadline of the whole listing: seconds, or a number with ms, s, m or h (default 60s)\n"
          + "  --tls          speak TLS, trusting the JDK's CAs (implied by the flags below)\n"
          + "  --ca-file      PEM file of the CAs that sign the server's certificate\n"
          + "  --cert-file    client certificate chain (PEM) for mTLS, with --key-file (PEM PKCS#8)\n"
          + "  --server-name  name to verify in the server's certificate (default: the host of --server)\n"
          + "The Partner Center token is read from $PCUSAGE_ACCESS_TOKEN, the API key from $PCUSAGE_API_KEY.\n";

  private static final Set<String> VALUE_FLAGS =
      Set.of("--server", "--timeout", "--ca-file", "--cert-file", "--key-file", "--server-name");

  private Totals() {}

  /** Runs the example and exits with its status. */
  public static void main(String[] args) {
    PrintStream out = new PrintStream(new FileOutputStream(FileDescriptor.out), false, StandardCharsets.UTF_8);
    PrintStream err = new PrintStream(new FileOutputStream(FileDescriptor.err), true, StandardCharsets.UTF_8);
    int status = run(args, System.getenv(), out, err);
    out.flush();
    System.exit(status);
  }

  /**
   * The example with its environment and output streams passed in (tests call this): returns the exit status.
   */
  public static int run(String[] args, Map<String, String> env, PrintStream out, PrintStream err) {
    String server = env.getOrDefault("PCUSAGE_SERVER", "");
    if (server.isEmpty()) {
      server = "127.0.0.1:50051";
    }
    Duration timeout = Duration.ofSeconds(60);
    ConnectionOptions.Builder connection = ConnectionOptions.builder();
    String certFile = null;
    String keyFile = null;
    for (int i = 0; i < args.length; i++) {
      String arg = args[i];
      String name = arg.contains("=") ? arg.substring(0, arg.indexOf('=')) : arg;
      if (name.equals("--help") || name.equals("-h")) {
        out.print(USAGE);
        return 0;
      }
      if (arg.equals("--tls")) {
        connection.tls(true);
        continue;
      }
      if (!VALUE_FLAGS.contains(name)) {
        return usageError(err, "unknown argument " + arg);
      }
      String value;
      if (arg.contains("=")) {
        value = arg.substring(arg.indexOf('=') + 1);
      } else if (i + 1 < args.length) {
        value = args[++i];
      } else {
        return usageError(err, name + " needs a value");
      }
      if (value.isEmpty()) {
        return usageError(err, name + " must not be empty");
      }
      if (name.equals("--server")) {
        server = value;
      } else if (name.equals("--ca-file")) {
        connection.caFile(Path.of(value));
      } else if (name.equals("--cert-file")) {
        certFile = value;
      } else if (name.equals("--key-file")) {
        keyFile = value;
      } else if (name.equals("--server-name")) {
        connection.serverName(value);
      } else {
        try {
          timeout = parseDuration(value);
        } catch (IllegalArgumentException e) {
          return usageError(err, "bad --timeout \"" + value + "\": " + e.getMessage());
        }
      }
    }

    if ((certFile == null) != (keyFile == null)) {
      return usageError(err, "--cert-file and --key-file go together");
    }
    if (certFile != null) {
      connection.clientCertificate(Path.of(certFile), Path.of(keyFile));
    }
    ManagedChannel channel;
    try {
      channel = connection.apiKey(env.get("PCUSAGE_API_KEY")).build().openChannel(server);
    } catch (IllegalArgumentException | UncheckedIOException e) {
      err.println(PROGRAM + ": " + e.getMessage());
      return 1;
    }
    try {
      UsageRecordsClient client = new UsageRecordsClient(channel, env.get("PCUSAGE_ACCESS_TOKEN"));
      CurrencyTotals totals = new CurrencyTotals();
      try (UsageRecordStream records = client.listUsageRecords(timeout)) {
        records.forEachRemaining(totals::add);
      } catch (StatusRuntimeException e) {
        ErrorDetails details = ErrorDetails.from(e);
        err.println(PROGRAM + ": " + details.code() + ": " + details.message());
        if (!details.reason().isEmpty()) {
          err.println(PROGRAM + ": reason " + details.reason());
        }
        details.retryDelay().ifPresent(delay -> err.println(PROGRAM + ": retry after " + delay.toMillis() + " ms"));
        return 1;
      }
      out.print(totals.render());
      out.flush();
      return 0;
    } finally {
      channel.shutdownNow();
      try {
        channel.awaitTermination(5, TimeUnit.SECONDS);
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
      }
    }
  }

  /** "90" (seconds), "1500ms", "90s", "2m", "1h", or ISO-8601 ("PT90S"); must be positive. */
  static Duration parseDuration(String text) {
    Duration duration;
    try {
      if (text.startsWith("P") || text.startsWith("p")) {
        duration = Duration.parse(text);
      } else if (text.endsWith("ms")) {
        duration = Duration.ofMillis(Long.parseLong(text.substring(0, text.length() - 2)));
      } else if (text.endsWith("s")) {
        duration = Duration.ofSeconds(Long.parseLong(text.substring(0, text.length() - 1)));
      } else if (text.endsWith("m")) {
        duration = Duration.ofMinutes(Long.parseLong(text.substring(0, text.length() - 1)));
      } else if (text.endsWith("h")) {
        duration = Duration.ofHours(Long.parseLong(text.substring(0, text.length() - 1)));
      } else {
        duration = Duration.ofSeconds(Long.parseLong(text));
      }
    } catch (NumberFormatException | DateTimeParseException e) {
      throw new IllegalArgumentException("not a duration");
    }
    if (duration.isNegative() || duration.isZero()) {
      throw new IllegalArgumentException("must be positive");
    }
    return duration;
  }

  private static int usageError(PrintStream err, String message) {
    err.println(PROGRAM + ": " + message);
    err.print(USAGE);
    return 2;
  }
}
