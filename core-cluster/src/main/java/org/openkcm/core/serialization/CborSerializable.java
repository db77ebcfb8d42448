package org.openkcm.core.serialization;

/**
 * Marker for every message, event and state that crosses the network or reaches the journal; bound
 * to Jackson CBOR once, in {@code config/core/serialization.conf}. Key blobs are {@code byte[]}
 * fields.
 */
public interface CborSerializable {}
