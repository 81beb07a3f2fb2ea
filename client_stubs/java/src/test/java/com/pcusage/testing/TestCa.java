package com.pcusage.testing;

import java.io.IOException;
import java.math.BigInteger;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.GeneralSecurityException;
import java.security.KeyPair;
import java.security.KeyPairGenerator;
import java.security.SecureRandom;
import java.security.cert.X509Certificate;
import java.security.spec.ECGenParameterSpec;
import java.time.Duration;
import java.time.Instant;
import java.util.Base64;
import java.util.Date;
import org.bouncycastle.asn1.x500.X500Name;
import org.bouncycastle.asn1.x509.BasicConstraints;
import org.bouncycastle.asn1.x509.ExtendedKeyUsage;
import org.bouncycastle.asn1.x509.Extension;
import org.bouncycastle.asn1.x509.GeneralName;
import org.bouncycastle.asn1.x509.GeneralNames;
import org.bouncycastle.asn1.x509.KeyPurposeId;
import org.bouncycastle.asn1.x509.KeyUsage;
import org.bouncycastle.cert.X509v3CertificateBuilder;
import org.bouncycastle.cert.jcajce.JcaX509CertificateConverter;
import org.bouncycastle.cert.jcajce.JcaX509v3CertificateBuilder;
import org.bouncycastle.operator.OperatorCreationException;
import org.bouncycastle.operator.jcajce.JcaContentSignerBuilder;

/**
 * A certificate authority made for one test (P-256, valid for a day): it issues server and client certificates and
 * writes everything as PEM files (keys as PKCS#8) into a directory.
 */
public final class TestCa {
  private static final SecureRandom RANDOM = new SecureRandom();

  private final Path dir;
  private final String name;
  private final KeyPair keys;
  private final X509Certificate certificate;

  /** A certificate and its private key, as PEM files. */
  public record Issued(Path certificateFile, Path keyFile) {}

  private TestCa(Path dir, String name, KeyPair keys, X509Certificate certificate) {
    this.dir = dir;
    this.name = name;
    this.keys = keys;
    this.certificate = certificate;
  }

  /** A self-signed CA whose subject CN is {@code name}; its files go into {@code dir}. */
  public static TestCa create(Path dir, String name) throws IOException, GeneralSecurityException {
    KeyPair keys = newKeys();
    X500Name subject = new X500Name("CN=" + name);
    X509v3CertificateBuilder builder = builder(subject, subject, keys)
        .addExtension(Extension.basicConstraints, true, new BasicConstraints(true))
        .addExtension(Extension.keyUsage, true, new KeyUsage(KeyUsage.keyCertSign | KeyUsage.cRLSign));
    TestCa ca = new TestCa(dir, name, keys, sign(builder, keys));
    writePem(ca.certificateFile(), "CERTIFICATE", ca.certificate.getEncoded());
    return ca;
  }

  /** The CA's certificate (PEM): what a client or the server trusts. */
  public Path certificateFile() {
    return dir.resolve(name + ".crt");
  }

  /** A server certificate for 127.0.0.1 and the DNS names given. */
  public Issued issueServer(String... dnsNames) throws IOException, GeneralSecurityException {
    GeneralName[] names = new GeneralName[dnsNames.length + 1];
    names[0] = new GeneralName(GeneralName.iPAddress, "127.0.0.1");
    for (int i = 0; i < dnsNames.length; i++) {
      names[i + 1] = new GeneralName(GeneralName.dNSName, dnsNames[i]);
    }
    return issue("pcusage-server", KeyPurposeId.id_kp_serverAuth, new GeneralNames(names));
  }

  /** A client certificate whose subject CN is {@code commonName}. */
  public Issued issueClient(String commonName) throws IOException, GeneralSecurityException {
    return issue(commonName, KeyPurposeId.id_kp_clientAuth, null);
  }

  private Issued issue(String commonName, KeyPurposeId purpose, GeneralNames altNames)
      throws IOException, GeneralSecurityException {
    KeyPair subjectKeys = newKeys();
    X509v3CertificateBuilder builder =
        builder(new X500Name("CN=" + name), new X500Name("CN=" + commonName), subjectKeys)
            .addExtension(Extension.basicConstraints, true, new BasicConstraints(false))
            .addExtension(Extension.keyUsage, true, new KeyUsage(KeyUsage.digitalSignature))
            .addExtension(Extension.extendedKeyUsage, false, new ExtendedKeyUsage(purpose));
    if (altNames != null) {
      builder.addExtension(Extension.subjectAlternativeName, false, altNames);
    }
    X509Certificate issued = sign(builder, keys);
    Issued files = new Issued(dir.resolve(commonName + ".crt"), dir.resolve(commonName + ".key"));
    writePem(files.certificateFile(), "CERTIFICATE", issued.getEncoded());
    writePem(files.keyFile(), "PRIVATE KEY", subjectKeys.getPrivate().getEncoded()); // PKCS#8
    return files;
  }

  private static KeyPair newKeys() throws GeneralSecurityException {
    KeyPairGenerator generator = KeyPairGenerator.getInstance("EC");
    generator.initialize(new ECGenParameterSpec("secp256r1"), RANDOM);
    return generator.generateKeyPair();
  }

  private static X509v3CertificateBuilder builder(X500Name issuer, X500Name subject, KeyPair subjectKeys) {
    Instant now = Instant.now();
    return new JcaX509v3CertificateBuilder(
        issuer,
        new BigInteger(62, RANDOM),
        Date.from(now.minus(Duration.ofHours(1))),
        Date.from(now.plus(Duration.ofDays(1))),
        subject,
        subjectKeys.getPublic());
  }

  private static X509Certificate sign(X509v3CertificateBuilder builder, KeyPair signer)
      throws GeneralSecurityException {
    try {
      return new JcaX509CertificateConverter()
          .getCertificate(builder.build(new JcaContentSignerBuilder("SHA256withECDSA").build(signer.getPrivate())));
    } catch (OperatorCreationException e) {
      throw new GeneralSecurityException(e);
    }
  }

  private static void writePem(Path file, String type, byte[] der) throws IOException {
    String body = Base64.getMimeEncoder(64, "\n".getBytes(StandardCharsets.US_ASCII)).encodeToString(der);
    Files.writeString(
        file, "-----BEGIN " + type + "-----\n" + body + "\n-----END " + type + "-----\n", StandardCharsets.US_ASCII);
  }
}
