package org.openkcm.core.serialization;

import java.io.ByteArrayInputStream;
import java.io.ByteArrayOutputStream;
import java.io.DataInputStream;
import java.io.DataOutputStream;
import java.io.IOException;
import java.io.NotSerializableException;
import java.io.UncheckedIOException;
import org.apache.pekko.serialization.SerializerWithStringManifest;
import org.openkcm.protocol.error.ErrorReason;
import org.openkcm.protocol.error.OpenKcmException;

/**
 * Carries a rejection — an {@link OpenKcmException} inside a {@code StatusReply.error} — between
 * Core nodes as its reason and message, nothing else (no stack trace, no cause). A reason this node
 * does not know (a newer peer) arrives as INTERNAL naming it, never as a silent success.
 */
public final class RejectionSerializer extends SerializerWithStringManifest {

  /**
   * Registered in {@code config/core/serialization.conf}; unique among the system's serializers.
   */
  public static final int IDENTIFIER = 73_001;

  private static final String MANIFEST = "R1";

  @Override
  public int identifier() {
    return IDENTIFIER;
  }

  @Override
  public String manifest(Object o) {
    return MANIFEST;
  }

  @Override
  public byte[] toBinary(Object o) {
    if (!(o instanceof OpenKcmException e)) {
      throw new IllegalArgumentException("not a rejection: " + o.getClass().getName());
    }
    ByteArrayOutputStream bytes = new ByteArrayOutputStream();
    try (DataOutputStream out = new DataOutputStream(bytes)) {
      out.writeUTF(e.reason().name());
      out.writeUTF(e.getMessage() == null ? "" : e.getMessage());
    } catch (IOException io) {
      throw new UncheckedIOException(io);
    }
    return bytes.toByteArray();
  }

  @Override
  public Object fromBinary(byte[] bytes, String manifest) throws NotSerializableException {
    if (!MANIFEST.equals(manifest)) {
      throw new NotSerializableException("unknown rejection manifest " + manifest);
    }
    try (DataInputStream in = new DataInputStream(new ByteArrayInputStream(bytes))) {
      String reason = in.readUTF();
      String message = in.readUTF();
      return ErrorReason.parse(reason)
          .map(r -> new OpenKcmException(r, message))
          .orElseGet(
              () ->
                  new OpenKcmException(
                      ErrorReason.INTERNAL,
                      "rejected with an unknown reason " + reason + ": " + message));
    } catch (IOException io) {
      throw new NotSerializableException("malformed rejection: " + io.getMessage());
    }
  }
}
