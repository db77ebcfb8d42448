package org.openkcm.kmip.message;

import java.util.List;
import org.openkcm.kmip.ttlv.Item;
import org.openkcm.kmip.ttlv.Tag;

/** A KMIP protocol version. */
public record ProtocolVersion(int major, int minor) implements Comparable<ProtocolVersion> {

  public static final ProtocolVersion V1_0 = new ProtocolVersion(1, 0);
  public static final ProtocolVersion V2_0 = new ProtocolVersion(2, 0);

  /** What this server speaks, newest first (the order Discover Versions answers). */
  public static final List<ProtocolVersion> SUPPORTED =
      List.of(
          V2_0,
          new ProtocolVersion(1, 4),
          new ProtocolVersion(1, 3),
          new ProtocolVersion(1, 2),
          new ProtocolVersion(1, 1),
          V1_0);

  public boolean supported() {
    return SUPPORTED.contains(this);
  }

  /** KMIP 2.x: attributes by their own tags inside an Attributes structure. */
  public boolean isTwo() {
    return major >= 2;
  }

  public Item.Struct toItem() {
    return new Item.Struct(
        Tag.PROTOCOL_VERSION,
        List.of(
            new Item.Int(Tag.PROTOCOL_VERSION_MAJOR, major),
            new Item.Int(Tag.PROTOCOL_VERSION_MINOR, minor)));
  }

  public static ProtocolVersion from(Item.Struct s) {
    return new ProtocolVersion(
        Items.integer(s, Tag.PROTOCOL_VERSION_MAJOR), Items.integer(s, Tag.PROTOCOL_VERSION_MINOR));
  }

  @Override
  public int compareTo(ProtocolVersion o) {
    return major != o.major ? Integer.compare(major, o.major) : Integer.compare(minor, o.minor);
  }

  @Override
  public String toString() {
    return major + "." + minor;
  }
}
