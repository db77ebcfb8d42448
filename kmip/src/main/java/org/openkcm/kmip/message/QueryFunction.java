package org.openkcm.kmip.message;

import java.util.Optional;

/** What a Query asks for. */
public enum QueryFunction {
  QUERY_OPERATIONS(0x00000001),
  QUERY_OBJECTS(0x00000002),
  QUERY_SERVER_INFORMATION(0x00000003),
  QUERY_APPLICATION_NAMESPACES(0x00000004),
  QUERY_EXTENSION_LIST(0x00000005),
  QUERY_EXTENSION_MAP(0x00000006),
  QUERY_ATTESTATION_TYPES(0x00000007),
  QUERY_RNGS(0x00000008),
  QUERY_VALIDATIONS(0x00000009),
  QUERY_PROFILES(0x0000000A),
  QUERY_CAPABILITIES(0x0000000B),
  QUERY_CLIENT_REGISTRATION_METHODS(0x0000000C),
  QUERY_DEFAULTS_INFORMATION(0x0000000D),
  QUERY_STORAGE_PROTECTION_MASKS(0x0000000E);

  public final int code;

  QueryFunction(int code) {
    this.code = code;
  }

  public static Optional<QueryFunction> of(int code) {
    for (QueryFunction v : values()) {
      if (v.code == code) {
        return Optional.of(v);
      }
    }
    return Optional.empty();
  }
}
