package com.fasterxml.jackson.datatype.jsr310;

import com.fasterxml.jackson.databind.module.SimpleModule;

/** Stand-in for jackson-datatype-jsr310's module: registers nothing (see ../README.md). */
public class JavaTimeModule extends SimpleModule {
    private static final long serialVersionUID = 1L;

    public JavaTimeModule() {
        super("JavaTimeModule (tools/polyglot shim)");
    }
}
