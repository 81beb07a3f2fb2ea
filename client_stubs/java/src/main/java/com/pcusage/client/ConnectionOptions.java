package com.pcusage.client;

import io.grpc.ChannelCredentials;
import io.grpc.Grpc;
import io.grpc.InsecureChannelCredentials;
import io.grpc.ManagedChannel;
import io.grpc.ManagedChannelBuilder;
import io.grpc.Metadata;
import io.grpc.TlsChannelCredentials;
import io.grpc.stub.MetadataUtils;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.InetAddress;
import java.net.UnknownHostException;
import java.nio.file.Path;
import java.util.Locale;
import java.util.Objects;
import java.util.Optional;

/**
 * How a client reaches a pcusage server: plaintext or TLS, the CAs it trusts, the client certificate it shows (mTLS),
 * and the API key it sends as {@code x-api-key} metadata. Immutable; made with {@link #builder()}. The default is
 * plaintext without a key, as for a server on loopback.
 *
 * <pre>{@code
 * ManagedChannel channel = ConnectionOptions.builder()
 *     .caFile(Path.of("/etc/pcusage/ca.pem"))                    // turns TLS on
 *     .clientCertificate(Path.of("client.pem"), Path.of("client.key"))  // mTLS (PKCS#8 key)
 *     .apiKey(System.getenv("PCUSAGE_API_KEY"))
 *     .build()
 *     .openChannel("pcusage.example.com:443");
 * UsageRecordsClient client = new UsageRecordsClient(channel, token);
 * }</pre>
 */
public final class ConnectionOptions {
  /** The metadata that carries the caller's API key, checked by the server against its {@code --api_keys_file}. */
  public static final Metadata.Key<String> API_KEY = Metadata.Key.of("x-api-key", Metadata.ASCII_STRING_MARSHALLER);

  private final boolean tls;
  private final Path caFile;
  private final Path certificateChainFile;
  private final Path privateKeyFile;
  private final String serverName;
  private final String apiKey;
  private final boolean insecureApiKey;

  private ConnectionOptions(Builder builder) {
    this.caFile = builder.caFile;
    this.certificateChainFile = builder.certificateChainFile;
    this.privateKeyFile = builder.privateKeyFile;
    this.serverName = builder.serverName;
    this.apiKey = builder.apiKey;
    this.insecureApiKey = builder.insecureApiKey;
    this.tls = builder.tls || caFile != null || certificateChainFile != null || serverName != null;
  }

  /** Options to fill in; {@link Builder#build()} makes them. */
  public static Builder builder() {
    return new Builder();
  }

  /** Whether the connection speaks TLS: asked for, or implied by a CA file, client certificate or server name. */
  public boolean tls() {
    return tls;
  }

  /** The PEM file of the CAs trusted to sign the server's certificate; empty means the JDK's default trust. */
  public Optional<Path> caFile() {
    return Optional.ofNullable(caFile);
  }

  /** The API key sent on every call, if any. */
  public Optional<String> apiKey() {
    return Optional.ofNullable(apiKey);
  }

  /**
   * The channel credentials these options describe: TLS with the CA file and client certificate, or plaintext. The
   * PEM files are read now.
   *
   * @throws UncheckedIOException when a PEM file cannot be read
   */
  public ChannelCredentials channelCredentials() {
    if (!tls) {
      return InsecureChannelCredentials.create();
    }
    TlsChannelCredentials.Builder credentials = TlsChannelCredentials.newBuilder();
    try {
      if (caFile != null) {
        credentials.trustManager(caFile.toFile());
      }
      if (certificateChainFile != null) {
        credentials.keyManager(certificateChainFile.toFile(), privateKeyFile.toFile());
      }
    } catch (IOException e) {
      throw new UncheckedIOException("pcusage: cannot read a TLS file: " + e.getMessage(), e);
    }
    return credentials.build();
  }

  /**
   * A channel builder for {@code target} ({@code host:port} or a gRPC target name) with these options applied: the
   * credentials, the server name to verify, and the API key attached to every call. Add your own settings, then
   * {@code build()} it.
   *
   * @throws IllegalArgumentException when an API key would be sent in plaintext to an address that is not loopback
   *     (use TLS, or {@link Builder#insecureApiKey(boolean)})
   * @throws UncheckedIOException when a PEM file cannot be read
   */
  public ManagedChannelBuilder<?> channelBuilder(String target) {
    Objects.requireNonNull(target, "target");
    if (apiKey != null && !tls && !insecureApiKey && !isLoopbackTarget(target)) {
      throw new IllegalArgumentException(
          "pcusage: an API key is sent in plaintext only to a loopback address, not to \""
              + target
              + "\": use TLS (or insecureApiKey(true))");
    }
    ManagedChannelBuilder<?> builder = Grpc.newChannelBuilder(target, channelCredentials());
    if (serverName != null) {
      builder.overrideAuthority(serverName);
    }
    if (apiKey != null) {
      Metadata headers = new Metadata();
      headers.put(API_KEY, apiKey);
      builder.intercept(MetadataUtils.newAttachHeadersInterceptor(headers));
    }
    return builder;
  }

  /**
   * A channel to {@code target} with these options; shut it down when done. The same as {@code
   * channelBuilder(target).build()}.
   *
   * @throws IllegalArgumentException when an API key would be sent in plaintext to an address that is not loopback
   * @throws UncheckedIOException when a PEM file cannot be read
   */
  public ManagedChannel openChannel(String target) {
    return channelBuilder(target).build();
  }

  /**
   * Whether a gRPC target names a loopback address: {@code localhost} or a loopback IP literal, with or without a port
   * and a {@code dns:///} scheme; {@code unix:} targets are local too. Nothing is resolved.
   */
  static boolean isLoopbackTarget(String target) {
    if (target.startsWith("unix:") || target.startsWith("unix-abstract:")) {
      return true;
    }
    if (target.startsWith("dns:///")) {
      target = target.substring("dns:///".length());
    }
    String host = target;
    if (host.startsWith("[")) {
      int end = host.indexOf(']');
      if (end < 0) {
        return false;
      }
      host = host.substring(1, end);
    } else if (host.indexOf(':') == host.lastIndexOf(':') && host.indexOf(':') >= 0) {
      host = host.substring(0, host.indexOf(':'));
    }
    if (host.toLowerCase(Locale.ROOT).equals("localhost")) {
      return true;
    }
    if (!host.matches("[0-9.]+|[0-9a-fA-F:.]*:[0-9a-fA-F:.]*")) {
      return false; // a name: never resolved here
    }
    try {
      return InetAddress.getByName(host).isLoopbackAddress(); // an IP literal: parsed, not looked up
    } catch (UnknownHostException e) {
      return false;
    }
  }

  /** Fills in {@link ConnectionOptions}; every setting is optional. */
  public static final class Builder {
    private boolean tls;
    private Path caFile;
    private Path certificateChainFile;
    private Path privateKeyFile;
    private String serverName;
    private String apiKey;
    private boolean insecureApiKey;

    private Builder() {}

    /** Turns TLS on with the JDK's default trust; implied by the CA file, client certificate and server name. */
    public Builder tls(boolean tls) {
      this.tls = tls;
      return this;
    }

    /** Trusts the CA certificates in this PEM file (instead of the JDK's) to sign the server's certificate. */
    public Builder caFile(Path caFile) {
      this.caFile = Objects.requireNonNull(caFile, "caFile");
      return this;
    }

    /**
     * Shows this client certificate to a server that requires one ({@code --tls_client_ca_file}): a PEM certificate
     * chain and its private key as PEM PKCS#8 ({@code BEGIN PRIVATE KEY}; {@code openssl pkcs8 -topk8 -nocrypt}
     * converts other forms).
     */
    public Builder clientCertificate(Path certificateChainFile, Path privateKeyFile) {
      this.certificateChainFile = Objects.requireNonNull(certificateChainFile, "certificateChainFile");
      this.privateKeyFile = Objects.requireNonNull(privateKeyFile, "privateKeyFile");
      return this;
    }

    /** The name the server's certificate must carry, when it is not the target's host (e.g. an IP address). */
    public Builder serverName(String serverName) {
      this.serverName = serverName == null || serverName.isEmpty() ? null : serverName;
      return this;
    }

    /**
     * Sends this API key as {@code x-api-key} metadata on every call; null or empty sends none. Without TLS it is sent
     * only to a loopback address, unless {@link #insecureApiKey(boolean)} allows more.
     *
     * @throws IllegalArgumentException when the key holds characters metadata cannot carry (the key is not quoted)
     */
    public Builder apiKey(String apiKey) {
      if (apiKey != null && !apiKey.isEmpty() && !apiKey.matches("[\\x20-\\x7e]+")) {
        throw new IllegalArgumentException("pcusage: the API key holds characters other than printable ASCII");
      }
      this.apiKey = apiKey == null || apiKey.isEmpty() ? null : apiKey;
      return this;
    }

    /** Allows sending the API key in plaintext to an address that is not loopback, where anyone on the path sees it. */
    public Builder insecureApiKey(boolean insecureApiKey) {
      this.insecureApiKey = insecureApiKey;
      return this;
    }

    /** The options filled in. */
    public ConnectionOptions build() {
      return new ConnectionOptions(this);
    }
  }
}
