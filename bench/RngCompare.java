import java.security.DrbgParameters;
import java.security.SecureRandom;
import java.security.Security;

/**
 * Draws 256 keys of 32 bytes (8 KiB) at once from each generator, 20,000 times after 3,000 warm-up
 * draws, and prints µs per draw: the platform default (NativePRNG), NativePRNGNonBlocking and the
 * JDK's DRBG mechanisms. A single-file program: {@code java bench/RngCompare.java}
 * (CTR_DRBG/HMAC_DRBG: {@code java bench/RngCompare.java CTR_DRBG,AES-256,256,use_df}).
 */
public class RngCompare {
  static void bench(String name, SecureRandom r) {
    byte[] b = new byte[256 * 32];
    for (int i = 0; i < 3000; i++) {
      r.nextBytes(b);
    }
    long t = System.nanoTime();
    int n = 20000;
    for (int i = 0; i < n; i++) {
      r.nextBytes(b);
    }
    System.out.printf("%-24s %8.1f µs per 256 keys  (%s)%n", name, (System.nanoTime() - t) / 1e3 / n, r);
  }

  public static void main(String[] a) throws Exception {
    if (a.length > 0) {
      Security.setProperty("securerandom.drbg.config", a[0]);
      bench(a[0], SecureRandom.getInstance("DRBG"));
      return;
    }
    bench("default", new SecureRandom());
    bench("NativePRNGNonBlocking", SecureRandom.getInstance("NativePRNGNonBlocking"));
    bench(
        "DRBG (KeyRandom)",
        SecureRandom.getInstance(
            "DRBG",
            DrbgParameters.instantiation(256, DrbgParameters.Capability.RESEED_ONLY, null)));
  }
}
