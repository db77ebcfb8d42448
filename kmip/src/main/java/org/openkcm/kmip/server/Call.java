package org.openkcm.kmip.server;

import java.time.Instant;
import java.util.Optional;
import org.openkcm.kmip.message.Items;
import org.openkcm.kmip.message.KmipException;
import org.openkcm.kmip.message.ProtocolVersion;
import org.openkcm.kmip.message.ResultReason;
import org.openkcm.kmip.ttlv.Item;
import org.openkcm.kmip.ttlv.Tag;

/**
 * One request being answered: who asks, in which protocol version, at what time, and the ID
 * placeholder (the Unique Identifier the last item of the batch made or named, used by later items
 * that name none).
 */
final class Call {

  final Owner owner;
  final ProtocolVersion version;
  final Instant now;
  private Optional<String> placeholder = Optional.empty();

  Call(Owner owner, ProtocolVersion version, Instant now) {
    this.owner = owner;
    this.version = version;
    this.now = now;
  }

  /** The payload's Unique Identifier, or the placeholder when it names none. */
  String uid(Item.Struct payload) {
    Optional<String> uid = Items.optText(payload, Tag.UNIQUE_IDENTIFIER);
    String out =
        uid.or(() -> placeholder)
            .orElseThrow(
                () ->
                    new KmipException(
                        ResultReason.INVALID_MESSAGE,
                        "Unique Identifier is missing and no earlier batch item set one"));
    placeholder = Optional.of(out);
    return out;
  }

  void placeholder(String uid) {
    placeholder = Optional.of(uid);
  }

  /** Reason for "no such object" in this version (KMIP 2.0 has its own). */
  ResultReason notFound() {
    return version.isTwo() ? ResultReason.OBJECT_NOT_FOUND : ResultReason.ITEM_NOT_FOUND;
  }

  /** Reason for "not in a state that allows it". */
  ResultReason wrongState() {
    return version.isTwo()
        ? ResultReason.WRONG_KEY_LIFECYCLE_STATE
        : ResultReason.ILLEGAL_OPERATION;
  }
}
