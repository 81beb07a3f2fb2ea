package com.example.usage;

import com.pcusage.client.ConnectionOptions;
import com.pcusage.client.Decimals;
import com.pcusage.client.ErrorDetails;
import com.pcusage.client.UsageRecordStream;
import com.pcusage.client.UsageRecordsClient;
import io.grpc.ManagedChannel;
import io.grpc.StatusRuntimeException;
import java.math.BigDecimal;
import java.nio.file.Path;
import java.time.Duration;

/**
 * The consumer example: lists every usage record through a pcusage server (TLS with --ca-file, mTLS with --cert-file
 * and --key-file, the API key from $PCUSAGE_API_KEY) and prints how many there are and the exact sum of their
 * usd_total_cost.
 *
 * <pre>
 * PCUSAGE_ACCESS_TOKEN=... PCUSAGE_API_KEY=... java -cp ... com.example.usage.UsageReport --server=HOST:PORT \
 *     [--ca-file=CA.pem] [--cert-file=CLIENT.pem --key-file=CLIENT.key]
 * </pre>
 */
public final class UsageReport {
  private UsageReport() {}

  public static void main(String[] args) throws InterruptedException {
    String server = "127.0.0.1:50051";
    ConnectionOptions.Builder options = ConnectionOptions.builder().apiKey(System.getenv("PCUSAGE_API_KEY"));
    Path certFile = null;
    Path keyFile = null;
    for (String arg : args) {
      String value = arg.substring(arg.indexOf('=') + 1);
      if (arg.startsWith("--server=")) {
        server = value;
      } else if (arg.startsWith("--ca-file=")) {
        options.caFile(Path.of(value));
      } else if (arg.startsWith("--cert-file=")) {
        certFile = Path.of(value);
      } else if (arg.startsWith("--key-file=")) {
        keyFile = Path.of(value);
      } else {
        System.err.println("usage-report: unknown argument " + arg);
        System.exit(2);
      }
    }
    if (certFile != null && keyFile != null) {
      options.clientCertificate(certFile, keyFile);
    }

    ManagedChannel channel = options.build().openChannel(server);
    UsageRecordsClient client = new UsageRecordsClient(channel, System.getenv("PCUSAGE_ACCESS_TOKEN"));
    long records = 0;
    BigDecimal usd = BigDecimal.ZERO;
    try (UsageRecordStream stream = client.listUsageRecords(Duration.ofMinutes(1))) {
      while (stream.hasNext()) {
        records++;
        usd = usd.add(Decimals.usdTotalCost(stream.next()).orElse(BigDecimal.ZERO));
      }
    } catch (StatusRuntimeException e) {
      ErrorDetails details = ErrorDetails.from(e);
      System.err.println("usage-report: " + details.code() + ": " + details.message() + " (" + details.reason() + ")");
      System.exit(1);
    } finally {
      channel.shutdownNow();
    }
    System.out.println("records\t" + records);
    System.out.println("usd_total_cost\t" + usd.toPlainString());
  }
}
