package dev.layerfs.image.extract;

import dev.layerfs.image.store.ObservedStream;
import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.util.ArrayDeque;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.Map;

/**
 * Watches the uncompressed tar stream on its way to Commons Compress and keeps the raw bytes of each entry's PAX
 * {@code path}, {@code linkpath} and {@code SCHILY.xattr.NAME} records. Commons Compress decodes PAX values as
 * UTF-8 text, which garbles a name that is not UTF-8 and binary values such as {@code security.capability}; this
 * tap reads the same records as bytes. It follows only the tar framing (512-byte headers, sizes, PAX and GNU
 * long-name records, GNU sparse extension headers) and queues one {@link Raw} per real entry, in archive order,
 * for {@link #nextEntry} to hand out as the reader returns each entry.
 */
final class PaxRawTap extends ObservedStream {
    /**
     * An entry's PAX records as bytes: {@code path} and {@code linkpath} one char per byte (null when the entry
     * had none), xattrs by name (one char per byte).
     */
    record Raw(String path, String linkPath, Map<String, byte[]> xattrs) {
        static final Raw NONE = new Raw(null, null, Map.of());
    }

    private static final int BLOCK = 512;
    private static final String PREFIX = "SCHILY.xattr.";

    private final ArrayDeque<Raw> ready = new ArrayDeque<>();
    private final byte[] header = new byte[BLOCK];
    private int headerFill;
    /** Bytes of the current entry's data (and padding) still to pass before the next header. */
    private long skipLeft;
    /** Non-null while collecting a PAX extended header's data. */
    private byte[] pax;
    private int paxFill;
    private long paxPadding;
    /** GNU sparse extension headers still to pass. */
    private boolean sparseExtension;
    private long dataSizeOfLastEntry;
    private Map<String, byte[]> pending = new LinkedHashMap<>();
    private String pendingPath;
    private String pendingLinkPath;
    private long pendingSize = -1;

    PaxRawTap(InputStream in) {
        super(in);
    }

    /** The raw PAX records of the next entry the reader returns. */
    Raw nextEntry() {
        Raw r = ready.poll();
        return r == null ? Raw.NONE : r;
    }

    @Override
    protected void observe(byte[] b, int off, int len) {
        int i = off;
        int end = off + len;
        while (i < end) {
            if (pax != null) {
                int take = Math.min(end - i, pax.length - paxFill);
                System.arraycopy(b, i, pax, paxFill, take);
                paxFill += take;
                i += take;
                if (paxFill == pax.length) {
                    parsePax(pax);
                    pax = null;
                    skipLeft = paxPadding;
                }
            } else if (skipLeft > 0) {
                int take = (int) Math.min(end - i, skipLeft);
                skipLeft -= take;
                i += take;
            } else {
                int take = Math.min(end - i, BLOCK - headerFill);
                System.arraycopy(b, i, header, headerFill, take);
                headerFill += take;
                i += take;
                if (headerFill == BLOCK) {
                    headerFill = 0;
                    onHeader();
                }
            }
        }
    }

    private void onHeader() {
        if (sparseExtension) {
            sparseExtension = header[504] != 0;
            if (!sparseExtension) {
                skipLeft = padded(dataSizeOfLastEntry);
            }
            return;
        }
        if (isZero(header)) {
            return;
        }
        byte type = header[156];
        long size = number(header, 124, 12);
        switch (type) {
            case 'x' -> {
                if (size > (16 << 20)) {
                    skipLeft = padded(size);
                } else {
                    pax = new byte[(int) size];
                    paxFill = 0;
                    paxPadding = padded(size) - size;
                    if (size == 0) {
                        pax = null;
                    }
                }
            }
            case 'g', 'L', 'K' -> skipLeft = padded(size);
            default -> {
                long dataSize = pendingSize >= 0 ? pendingSize : size;
                ready.add(pending.isEmpty() && pendingPath == null && pendingLinkPath == null ? Raw.NONE
                        : new Raw(pendingPath, pendingLinkPath, pending));
                pending = new LinkedHashMap<>();
                pendingPath = null;
                pendingLinkPath = null;
                pendingSize = -1;
                boolean noData = type == '1' || type == '2' || type == '3' || type == '4' || type == '5'
                        || type == '6';
                if (type == 'S' && header[482] != 0) {
                    sparseExtension = true;
                    dataSizeOfLastEntry = size;
                } else {
                    skipLeft = noData ? 0 : padded(dataSize);
                }
            }
        }
    }

    /** PAX records: "LEN KEY=VALUE\n", LEN counting the whole record in bytes. */
    private void parsePax(byte[] data) {
        int p = 0;
        while (p < data.length) {
            int sp = p;
            while (sp < data.length && data[sp] != ' ') {
                sp++;
            }
            int recLen;
            try {
                recLen = Integer.parseInt(new String(data, p, sp - p, StandardCharsets.US_ASCII));
            } catch (NumberFormatException e) {
                return;
            }
            int recEnd = p + recLen;
            if (recLen <= 0 || recEnd > data.length) {
                return;
            }
            int eq = sp + 1;
            while (eq < recEnd && data[eq] != '=') {
                eq++;
            }
            String key = new String(data, sp + 1, eq - sp - 1, StandardCharsets.ISO_8859_1);
            byte[] value = Arrays.copyOfRange(data, Math.min(eq + 1, recEnd - 1), recEnd - 1);
            if (key.startsWith(PREFIX)) {
                pending.put(key.substring(PREFIX.length()), value);
            } else if (key.equals("path")) {
                pendingPath = new String(value, StandardCharsets.ISO_8859_1);
            } else if (key.equals("linkpath")) {
                pendingLinkPath = new String(value, StandardCharsets.ISO_8859_1);
            } else if (key.equals("size")) {
                try {
                    pendingSize = Long.parseLong(new String(value, StandardCharsets.US_ASCII));
                } catch (NumberFormatException e) {
                    // Commons Compress rejects the entry itself
                }
            }
            p = recEnd;
        }
    }

    private static long padded(long size) {
        return (size + BLOCK - 1) / BLOCK * BLOCK;
    }

    private static boolean isZero(byte[] b) {
        for (byte x : b) {
            if (x != 0) {
                return false;
            }
        }
        return true;
    }

    /** A tar number field: octal text, or base-256 when the first byte's high bit is set. */
    private static long number(byte[] h, int off, int len) {
        if ((h[off] & 0x80) != 0) {
            long v = h[off] & 0x7f;
            for (int i = 1; i < len; i++) {
                v = (v << 8) | (h[off + i] & 0xff);
            }
            return v;
        }
        long v = 0;
        for (int i = off; i < off + len; i++) {
            byte c = h[i];
            if (c >= '0' && c <= '7') {
                v = v * 8 + (c - '0');
            } else if (c == 0 || (c == ' ' && v > 0)) {
                break;
            }
        }
        return v;
    }
}
