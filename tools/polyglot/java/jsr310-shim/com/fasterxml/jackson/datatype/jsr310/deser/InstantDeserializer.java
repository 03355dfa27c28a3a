package com.fasterxml.jackson.datatype.jsr310.deser;

import com.fasterxml.jackson.core.JsonParser;
import com.fasterxml.jackson.core.JsonToken;
import com.fasterxml.jackson.databind.DeserializationContext;
import com.fasterxml.jackson.databind.deser.std.StdScalarDeserializer;
import java.io.IOException;
import java.time.ZoneId;
import java.time.format.DateTimeFormatter;
import java.time.format.DateTimeParseException;
import java.time.temporal.Temporal;
import java.time.temporal.TemporalAccessor;
import java.util.function.BiFunction;
import java.util.function.Function;

/**
 * Stand-in for jackson-datatype-jsr310's InstantDeserializer: the constructor and `_fromString`
 * that the generated RFC3339InstantDeserializer uses. Reads a JSON string with the formatter;
 * numeric timestamps are refused (see ../../README.md).
 */
public class InstantDeserializer<T extends Temporal> extends StdScalarDeserializer<T> {
    private static final long serialVersionUID = 1L;

    /** The arguments of a conversion from epoch milliseconds, as jsr310 names them. */
    public static class FromIntegerArguments {
        public final long value;
        public final ZoneId zoneId;

        public FromIntegerArguments(long value, ZoneId zoneId) {
            this.value = value;
            this.zoneId = zoneId;
        }
    }

    /** The arguments of a conversion from epoch seconds and nanoseconds, as jsr310 names them. */
    public static class FromDecimalArguments {
        public final long integer;
        public final int fraction;
        public final ZoneId zoneId;

        public FromDecimalArguments(long integer, int fraction, ZoneId zoneId) {
            this.integer = integer;
            this.fraction = fraction;
            this.zoneId = zoneId;
        }
    }

    private final transient DateTimeFormatter formatter;
    private final transient Function<TemporalAccessor, T> parsedToValue;

    protected InstantDeserializer(
            Class<T> supportedType,
            DateTimeFormatter formatter,
            Function<TemporalAccessor, T> parsedToValue,
            Function<FromIntegerArguments, T> fromMilliseconds,
            Function<FromDecimalArguments, T> fromNanoseconds,
            BiFunction<T, ZoneId, T> adjust,
            boolean replaceZeroOffsetAsZ,
            boolean normalizeZoneId,
            boolean readNumericStringsAsTimestamp) {
        super(supportedType);
        this.formatter = formatter;
        this.parsedToValue = parsedToValue;
    }

    @Override
    @SuppressWarnings("unchecked")
    public T deserialize(JsonParser p, DeserializationContext ctxt) throws IOException {
        if (p.currentToken() != JsonToken.VALUE_STRING) {
            return (T) ctxt.handleUnexpectedToken(handledType(), p);
        }
        return _fromString(p, ctxt, p.getText());
    }

    protected T _fromString(JsonParser p, DeserializationContext ctxt, String string0) throws IOException {
        try {
            return parsedToValue.apply(formatter.parse(string0.trim()));
        } catch (DateTimeParseException e) {
            throw ctxt.weirdStringException(string0, handledType(), e.getMessage());
        }
    }
}
