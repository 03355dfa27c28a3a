package com.fasterxml.jackson.datatype.jsr310;

/** The features of jackson-datatype-jsr310 that the generated client reads, with their defaults. */
public enum JavaTimeFeature {
    NORMALIZE_DESERIALIZED_ZONE_ID(true),
    ALWAYS_ALLOW_STRINGIFIED_DATE_TIMESTAMPS(false);

    private final boolean enabledByDefault;

    JavaTimeFeature(boolean enabledByDefault) {
        this.enabledByDefault = enabledByDefault;
    }

    public boolean enabledByDefault() {
        return enabledByDefault;
    }
}
