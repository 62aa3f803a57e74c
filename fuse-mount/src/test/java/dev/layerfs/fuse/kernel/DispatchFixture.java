package dev.layerfs.fuse.kernel;

import java.nio.ByteBuffer;

/**
 * Requests to a {@link Dispatcher} as the kernel encodes them, each with the next unique, answered into one
 * reply buffer; shared by the tests that drive a dispatcher without a mount. A reply is valid until the next call.
 */
final class DispatchFixture {
    private final Dispatcher dispatcher;
    private final ReplyWriter out = new ReplyWriter(1 << 16);
    private long unique = 100;

    DispatchFixture(Dispatcher dispatcher) {
        this.dispatcher = dispatcher;
    }

    /** A request to fill in: the in header of {@code op} on node {@code node}. */
    WireTest.Req req(Opcode op, long node) {
        return new WireTest.Req(op.code, unique++, node);
    }

    /** The request parsed as the session would, then dispatched: its reply (null where none). */
    ByteBuffer call(WireTest.Req r) {
        return dispatch(r.parse());
    }

    ByteBuffer dispatch(Request parsed) {
        return dispatcher.dispatch(parsed, out);
    }

    /** The errno a reply answers (0 for success). */
    static int error(ByteBuffer reply) {
        return ReplyWriter.errnoOf(reply);
    }
}
