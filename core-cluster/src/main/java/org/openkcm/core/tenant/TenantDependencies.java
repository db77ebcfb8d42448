package org.openkcm.core.tenant;

import java.security.SecureRandom;
import java.time.Clock;
import org.openkcm.core.keystore.L1Keystore;

/** What a tenant entity needs from outside: the L1 keystore drivers, randomness, time and settings. */
public record TenantDependencies(L1Keystore keystore, SecureRandom random, Clock clock, TenantSettings settings) {}
