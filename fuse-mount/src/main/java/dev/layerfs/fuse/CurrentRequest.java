package dev.layerfs.fuse;

/**
 * The opcode of the FUSE request this thread is processing, for the rare callback whose right answer depends on
 * which request libfuse 2 made it from (its high-level API does not say).
 */
final class CurrentRequest {
    static final int FUSE_RENAME = 12;
    static final int FUSE_RENAME2 = 45;

    private static final ThreadLocal<int[]> OPCODE = ThreadLocal.withInitial(() -> new int[] {-1});

    private CurrentRequest() {}

    static void set(int opcode) {
        OPCODE.get()[0] = opcode;
    }

    /** True while a RENAME request is processed on this thread. */
    static boolean isRename() {
        int op = OPCODE.get()[0];
        return op == FUSE_RENAME || op == FUSE_RENAME2;
    }
}
