package org.openkcm.core.keystore;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import com.sun.net.httpserver.HttpExchange;
import com.sun.net.httpserver.HttpServer;
import java.io.IOException;
import java.io.OutputStream;
import java.net.InetSocketAddress;
import java.net.URI;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.security.GeneralSecurityException;
import java.security.SecureRandom;
import java.util.Base64;
import java.util.Iterator;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;
import java.util.UUID;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicInteger;
import javax.crypto.Cipher;
import javax.crypto.spec.GCMParameterSpec;
import javax.crypto.spec.SecretKeySpec;

/**
 * A KMS-protocol endpoint on 127.0.0.1 for tests: AWS JSON 1.1 ({@code X-Amz-Target:
 * TrentService.*}) with Encrypt, Decrypt, DescribeKey, EnableKey, DisableKey, ScheduleKeyDeletion,
 * CancelKeyDeletion, and the error answers of the real service (DisabledException,
 * KMSInvalidStateException, NotFoundException, AccessDeniedException, InvalidCiphertextException
 * for a wrong encryption context). Signatures are not checked. Keys are AES-256 held in memory.
 */
public final class FakeKms implements AutoCloseable {

  public static final String ACCOUNT = "111122223333";
  public static final String REGION = "eu-west-1";
  private static final ObjectMapper JSON = new ObjectMapper();

  private record FakeKey(byte[] material, String spec, String usage) {}

  private final HttpServer server;
  private final Map<String, FakeKey> keys = new ConcurrentHashMap<>();
  private final Map<String, String> states = new ConcurrentHashMap<>();
  private final Set<String> denied = ConcurrentHashMap.newKeySet();
  private final AtomicInteger calls = new AtomicInteger();
  private final SecureRandom random = new SecureRandom();

  public FakeKms() throws IOException {
    server = HttpServer.create(new InetSocketAddress("127.0.0.1", 0), 0);
    server.createContext("/", this::handle);
    server.start();
  }

  public URI endpoint() {
    return URI.create("http://127.0.0.1:" + server.getAddress().getPort());
  }

  /** Creates an enabled symmetric key and answers its ARN. */
  public String createKey() {
    return createKey("SYMMETRIC_DEFAULT", "ENCRYPT_DECRYPT");
  }

  public String createKey(String spec, String usage) {
    String arn = "arn:aws:kms:" + REGION + ":" + ACCOUNT + ":key/" + UUID.randomUUID();
    byte[] k = new byte[32];
    random.nextBytes(k);
    keys.put(arn, new FakeKey(k, spec, usage));
    states.put(arn, "Enabled");
    return arn;
  }

  public void disable(String arn) {
    states.put(arn, "Disabled");
  }

  public void enable(String arn) {
    states.put(arn, "Enabled");
  }

  public void scheduleDeletion(String arn) {
    states.put(arn, "PendingDeletion");
  }

  public void deny(String arn) {
    denied.add(arn);
  }

  public int calls() {
    return calls.get();
  }

  private void handle(HttpExchange ex) throws IOException {
    calls.incrementAndGet();
    try (ex) {
      String target = ex.getRequestHeaders().getFirst("X-Amz-Target");
      JsonNode body = JSON.readTree(ex.getRequestBody());
      String op = target == null ? "" : target.substring(target.indexOf('.') + 1);
      try {
        ObjectNode out =
            switch (op) {
              case "Encrypt" -> encrypt(body);
              case "Decrypt" -> decrypt(body);
              case "DescribeKey" -> describe(body);
              case "EnableKey" -> setState(body, "Enabled");
              case "DisableKey" -> setState(body, "Disabled");
              case "ScheduleKeyDeletion" -> setState(body, "PendingDeletion");
              case "CancelKeyDeletion" -> setState(body, "Disabled");
              default -> throw new KmsError("UnsupportedOperationException", "operation " + op);
            };
        reply(ex, 200, out);
      } catch (KmsError e) {
        ObjectNode err =
            JSON.createObjectNode().put("__type", e.type).put("message", e.getMessage());
        ex.getResponseHeaders().add("x-amzn-ErrorType", e.type);
        reply(ex, 400, err);
      }
    }
  }

  private static final class KmsError extends RuntimeException {
    final String type;

    KmsError(String type, String message) {
      super(message);
      this.type = type;
    }
  }

  private String usableKey(JsonNode body) {
    String arn = body.path("KeyId").asText();
    if (!keys.containsKey(arn)) {
      throw new KmsError("NotFoundException", "Key '" + arn + "' does not exist");
    }
    if (denied.contains(arn)) {
      throw new KmsError(
          "AccessDeniedException", "User is not authorized to perform kms operation on " + arn);
    }
    return arn;
  }

  private void requireEnabled(String arn) {
    String state = states.get(arn);
    if ("Disabled".equals(state)) {
      throw new KmsError("DisabledException", arn + " is disabled.");
    }
    if (!"Enabled".equals(state)) {
      throw new KmsError("KMSInvalidStateException", arn + " is pending deletion.");
    }
  }

  private ObjectNode describe(JsonNode body) {
    String arn = usableKey(body);
    FakeKey k = keys.get(arn);
    ObjectNode meta =
        JSON.createObjectNode()
            .put("KeyId", arn.substring(arn.lastIndexOf('/') + 1))
            .put("Arn", arn)
            .put("KeyState", states.get(arn))
            .put("Enabled", "Enabled".equals(states.get(arn)))
            .put("KeyUsage", k.usage())
            .put("KeySpec", k.spec())
            .put("CustomerMasterKeySpec", k.spec());
    ObjectNode out = JSON.createObjectNode();
    out.set("KeyMetadata", meta);
    return out;
  }

  private ObjectNode setState(JsonNode body, String state) {
    String arn = usableKey(body);
    states.put(arn, state);
    return JSON.createObjectNode().put("KeyId", arn);
  }

  private ObjectNode encrypt(JsonNode body) {
    String arn = usableKey(body);
    requireEnabled(arn);
    byte[] plain = Base64.getDecoder().decode(body.path("Plaintext").asText());
    byte[] nonce = new byte[12];
    random.nextBytes(nonce);
    byte[] ct = gcm(Cipher.ENCRYPT_MODE, keys.get(arn).material(), nonce, aad(body), plain);
    byte[] arnBytes = arn.getBytes(StandardCharsets.UTF_8);
    ByteBuffer blob = ByteBuffer.allocate(2 + arnBytes.length + 12 + ct.length);
    blob.putShort((short) arnBytes.length).put(arnBytes).put(nonce).put(ct);
    return JSON.createObjectNode()
        .put("CiphertextBlob", Base64.getEncoder().encodeToString(blob.array()))
        .put("KeyId", arn)
        .put("EncryptionAlgorithm", "SYMMETRIC_DEFAULT");
  }

  private ObjectNode decrypt(JsonNode body) {
    byte[] blob = Base64.getDecoder().decode(body.path("CiphertextBlob").asText());
    ByteBuffer b = ByteBuffer.wrap(blob);
    String arn;
    byte[] nonce = new byte[12];
    byte[] ct;
    try {
      byte[] arnBytes = new byte[b.getShort()];
      b.get(arnBytes);
      arn = new String(arnBytes, StandardCharsets.UTF_8);
      b.get(nonce);
      ct = new byte[b.remaining()];
      b.get(ct);
    } catch (RuntimeException e) {
      throw new KmsError("InvalidCiphertextException", "");
    }
    String requested = body.path("KeyId").asText(arn);
    if (!requested.equals(arn)) {
      throw new KmsError(
          "IncorrectKeyException",
          "The key ID in the request does not identify a KMS key that can perform this operation.");
    }
    ((ObjectNode) body).put("KeyId", arn);
    usableKey(body);
    requireEnabled(arn);
    byte[] plain = gcm(Cipher.DECRYPT_MODE, keys.get(arn).material(), nonce, aad(body), ct);
    return JSON.createObjectNode()
        .put("Plaintext", Base64.getEncoder().encodeToString(plain))
        .put("KeyId", arn)
        .put("EncryptionAlgorithm", "SYMMETRIC_DEFAULT");
  }

  private static byte[] aad(JsonNode body) {
    Map<String, String> ctx = new TreeMap<>();
    Iterator<Map.Entry<String, JsonNode>> it = body.path("EncryptionContext").fields();
    it.forEachRemaining(e -> ctx.put(e.getKey(), e.getValue().asText()));
    return ctx.toString().getBytes(StandardCharsets.UTF_8);
  }

  private static byte[] gcm(int mode, byte[] key, byte[] nonce, byte[] aad, byte[] in) {
    try {
      Cipher c = Cipher.getInstance("AES/GCM/NoPadding");
      c.init(mode, new SecretKeySpec(key, "AES"), new GCMParameterSpec(128, nonce));
      c.updateAAD(aad);
      return c.doFinal(in);
    } catch (GeneralSecurityException e) {
      throw new KmsError("InvalidCiphertextException", "");
    }
  }

  /** The request id of the last answer (successful or not). */
  static final java.util.concurrent.atomic.AtomicReference<String> LAST_REQUEST_ID =
      new java.util.concurrent.atomic.AtomicReference<>();

  private static void reply(HttpExchange ex, int status, ObjectNode body) throws IOException {
    byte[] bytes = JSON.writeValueAsBytes(body);
    ex.getResponseHeaders().add("Content-Type", "application/x-amz-json-1.1");
    // as AWS does: the id CloudTrail logs for this call
    String requestId = java.util.UUID.randomUUID().toString();
    LAST_REQUEST_ID.set(requestId);
    ex.getResponseHeaders().add("x-amzn-RequestId", requestId);
    ex.sendResponseHeaders(status, bytes.length);
    try (OutputStream out = ex.getResponseBody()) {
      out.write(bytes);
    }
  }

  @Override
  public void close() {
    server.stop(0);
  }
}
