package com.pcusage.testing;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.fail;

import com.google.gson.JsonArray;
import com.google.gson.JsonElement;
import com.google.gson.JsonObject;
import com.google.gson.JsonParser;
import io.grpc.Grpc;
import io.grpc.InsecureChannelCredentials;
import io.grpc.ManagedChannel;
import java.io.IOException;
import java.math.BigDecimal;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.TimeUnit;

/**
 * The live stack the tests run against (tools/with_stack): pcusage_server at {@code $PCUSAGE_SERVER} and the Partner
 * Center emulator at {@code $PCUSAGE_EMULATOR}, whose raw pages are the independent truth the tests compare with.
 * A missing variable fails the test: these tests are never skipped. The budget watch tests use a second pair,
 * {@code $PCUSAGE_WATCH_SERVER} (shared snapshots on, {@code --min_watch_poll_interval=200ms}) in front of the emulator
 * at {@code $PCUSAGE_WATCH_EMULATOR} (6 generated customers in one page), whose data set they edit.
 */
public final class LiveStack {
  // A new client, so a new connection, per request: the emulator closes idle connections after a second, and a
  // pooled connection it has just closed would fail a POST (which the JDK client does not retry).
  private static HttpClient http() {
    return HttpClient.newBuilder().version(HttpClient.Version.HTTP_1_1).connectTimeout(Duration.ofSeconds(10)).build();
  }
  private static final Duration HTTP_TIMEOUT = Duration.ofSeconds(30);

  private LiveStack() {}

  /** The value of environment variable {@code name}; fails the test when it is unset or empty. */
  public static String env(String name) {
    String value = System.getenv(name);
    if (value == null || value.isEmpty()) {
      fail(name + " is not set: run the tests through tools/with_stack (client_stubs/java/run_tests does)");
    }
    return value;
  }

  /** host:port of pcusage_server. */
  public static String server() {
    return env("PCUSAGE_SERVER");
  }

  /** The bearer token the emulator accepts; the server passes callers' tokens through to it. */
  public static String token() {
    return env("PCUSAGE_EMULATOR_TOKEN");
  }

  /** A plaintext channel to pcusage_server; shut it down with {@link #shutdown}. */
  public static ManagedChannel channel() {
    return Grpc.newChannelBuilder(server(), InsecureChannelCredentials.create()).build();
  }

  /** host:port of the pcusage_server for budget watches (shared snapshots on, a 200 ms least poll interval). */
  public static String watchServer() {
    return env("PCUSAGE_WATCH_SERVER");
  }

  /** A plaintext channel to the watch server; shut it down with {@link #shutdown}. */
  public static ManagedChannel watchChannel() {
    return Grpc.newChannelBuilder(watchServer(), InsecureChannelCredentials.create()).build();
  }

  /**
   * Edits the watch emulator's data set ({@code POST /emulator/dataset}, tests/emulator/README.md, "Changing the data
   * set"): {@code edits} is a JSON array such as {@code [{"resource_id": "<id>", "percent_used": "85"}]}.
   */
  public static void editWatchDataset(String edits) throws IOException, InterruptedException {
    HttpResponse<String> response = send(post(env("PCUSAGE_WATCH_EMULATOR"), "/emulator/dataset", edits));
    assertEquals(200, response.statusCode(), "POST /emulator/dataset " + edits + ": " + response.body());
  }

  /** Every raw record of the watch emulator, in order, across all pages. */
  public static List<JsonObject> rawWatchRecords() throws IOException, InterruptedException {
    List<JsonObject> records = new ArrayList<>();
    rawPagesFrom(env("PCUSAGE_WATCH_EMULATOR")).forEach(page -> records.addAll(page.items()));
    return records;
  }

  /** Shuts {@code channel} down and waits briefly for it. */
  public static void shutdown(ManagedChannel channel) throws InterruptedException {
    channel.shutdownNow();
    channel.awaitTermination(10, TimeUnit.SECONDS);
  }

  /** Replaces the emulator's fault script (tests/emulator/fault_script.h) with {@code script}. */
  public static void setFaults(String script) throws IOException, InterruptedException {
    HttpResponse<String> response = send(post("/emulator/faults", script));
    assertEquals(200, response.statusCode(), "POST /emulator/faults: " + response.body());
  }

  /** Arms no fault. Every test that arms one calls this in a finally block. */
  public static void clearFaults() throws IOException, InterruptedException {
    setFaults("[]");
  }

  /** Clears the emulator's request log. */
  public static void resetRequestLog() throws IOException, InterruptedException {
    HttpResponse<String> response = send(post("/emulator/reset", ""));
    assertEquals(200, response.statusCode(), "POST /emulator/reset: " + response.body());
  }

  /** The emulator's request log: method, path, headers, page, fault, completed, ... per request. */
  public static JsonArray requestLog() throws IOException, InterruptedException {
    HttpResponse<String> response = send(request("/emulator/requests").GET().build());
    assertEquals(200, response.statusCode(), "GET /emulator/requests: " + response.body());
    return JsonParser.parseString(response.body()).getAsJsonArray();
  }

  /** A raw Partner Center page: its totalCount and items, as the emulator sent them. */
  public record RawPage(long totalCount, List<JsonObject> items) {}

  /**
   * Every page of {@code GET /v1/customers/usagerecords} straight from the emulator, following {@code links.next} by
   * sending its headers (MS-ContinuationToken). Clears the fault script first so that the pages are the plain data.
   */
  public static List<RawPage> rawPages() throws IOException, InterruptedException {
    clearFaults();
    return rawPagesFrom(env("PCUSAGE_EMULATOR"));
  }

  private static List<RawPage> rawPagesFrom(String emulator) throws IOException, InterruptedException {
    List<RawPage> pages = new ArrayList<>();
    String path = "/v1/customers/usagerecords";
    List<String[]> headers = List.of();
    while (path != null) {
      if (pages.size() > 1000) {
        fail("the emulator's paging does not end");
      }
      HttpRequest.Builder builder =
          request(emulator, path)
              .GET()
              .header("Authorization", "Bearer " + token())
              .header("Accept", "application/json");
      for (String[] header : headers) {
        builder.header(header[0], header[1]);
      }
      HttpResponse<String> response = send(builder.build());
      assertEquals(200, response.statusCode(), "GET " + path + ": " + response.body());
      JsonObject page = JsonParser.parseString(response.body()).getAsJsonObject();
      List<JsonObject> items = new ArrayList<>();
      page.getAsJsonArray("items").forEach(item -> items.add(item.getAsJsonObject()));
      pages.add(new RawPage(page.get("totalCount").getAsLong(), items));

      path = null;
      JsonObject links = object(page, "links").orElse(null);
      JsonObject next = links == null ? null : object(links, "next").orElse(null);
      if (next != null) {
        path = next.get("uri").getAsString();
        List<String[]> nextHeaders = new ArrayList<>();
        for (JsonElement header : next.getAsJsonArray("headers")) {
          JsonObject pair = header.getAsJsonObject();
          nextHeaders.add(new String[] {pair.get("key").getAsString(), pair.get("value").getAsString()});
        }
        headers = nextHeaders;
      }
    }
    return pages;
  }

  /** Every raw record, in order, across all pages. */
  public static List<JsonObject> rawRecords() throws IOException, InterruptedException {
    List<JsonObject> records = new ArrayList<>();
    rawPages().forEach(page -> records.addAll(page.items()));
    return records;
  }

  /** {@code object.name} as an object; empty when absent or null. */
  public static Optional<JsonObject> object(JsonObject object, String name) {
    JsonElement value = object.get(name);
    return value == null || value.isJsonNull() ? Optional.empty() : Optional.of(value.getAsJsonObject());
  }

  /** {@code object.name} as a string; empty when absent or null. */
  public static Optional<String> string(JsonObject object, String name) {
    JsonElement value = object.get(name);
    return value == null || value.isJsonNull() ? Optional.empty() : Optional.of(value.getAsString());
  }

  /**
   * {@code object.name} as an exact decimal, from the JSON number's own text (Gson keeps it; never a double);
   * empty when absent or null.
   */
  public static Optional<BigDecimal> decimal(JsonObject object, String name) {
    JsonElement value = object.get(name);
    if (value == null || value.isJsonNull()) {
      return Optional.empty();
    }
    return Optional.of(new BigDecimal(value.getAsJsonPrimitive().getAsString()));
  }

  private static HttpRequest.Builder request(String path) {
    return request(env("PCUSAGE_EMULATOR"), path);
  }

  private static HttpRequest.Builder request(String emulator, String path) {
    return HttpRequest.newBuilder(URI.create("http://" + emulator + path)).timeout(HTTP_TIMEOUT);
  }

  private static HttpRequest post(String path, String body) {
    return post(env("PCUSAGE_EMULATOR"), path, body);
  }

  private static HttpRequest post(String emulator, String path, String body) {
    return request(emulator, path)
        .header("Content-Type", "application/json")
        .POST(HttpRequest.BodyPublishers.ofString(body))
        .build();
  }

  private static HttpResponse<String> send(HttpRequest request) throws IOException, InterruptedException {
    return http().send(request, HttpResponse.BodyHandlers.ofString());
  }
}
