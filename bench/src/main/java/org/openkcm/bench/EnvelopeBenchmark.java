package org.openkcm.bench;

import java.security.SecureRandom;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.BenchmarkMode;
import org.openjdk.jmh.annotations.Fork;
import org.openjdk.jmh.annotations.Measurement;
import org.openjdk.jmh.annotations.Mode;
import org.openjdk.jmh.annotations.OutputTimeUnit;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;
import org.openjdk.jmh.annotations.Warmup;
import org.openkcm.protocol.envelope.EncryptionContext;
import org.openkcm.protocol.envelope.EnvelopeCipher;
import org.openkcm.protocol.envelope.EnvelopeCodec;
import org.openkcm.protocol.envelope.EnvelopeException;
import org.openkcm.protocol.envelope.EnvelopeHeader;
import org.openkcm.protocol.key.KeyMaterial;

/**
 * The raw crypto limit: wrap and unwrap of one 32-byte DEK in an envelope (AES-256-GCM, random
 * nonce, a one-entry encryption context), in process, no actor and no network.
 */
@State(Scope.Thread)
@BenchmarkMode({Mode.Throughput, Mode.AverageTime})
@OutputTimeUnit(TimeUnit.MICROSECONDS)
@Warmup(iterations = 3, time = 2)
@Measurement(iterations = 5, time = 2)
@Fork(1)
public class EnvelopeBenchmark {

  private EnvelopeCipher cipher;
  private KeyMaterial dek;
  private EncryptionContext context;
  private SecureRandom random;
  private byte[] envelope;

  @Setup
  public void setUp() throws EnvelopeException {
    random = new SecureRandom();
    cipher =
        new EnvelopeCipher(
            new EnvelopeHeader("acme", "payments", 1), KeyMaterial.random(32, random));
    dek = KeyMaterial.random(32, random);
    context = EncryptionContext.of(Map.of("order", "42"));
    envelope = cipher.wrap(dek, context, random);
  }

  @Benchmark
  public byte[] wrap() throws EnvelopeException {
    return cipher.wrap(dek, context, random);
  }

  @Benchmark
  public KeyMaterial unwrap() throws EnvelopeException {
    return cipher.unwrap(EnvelopeCodec.decode(envelope), context);
  }

  @Benchmark
  public EncryptionContext parseContext() throws EnvelopeException {
    return EncryptionContext.of(Map.of("order", "42"));
  }
}
