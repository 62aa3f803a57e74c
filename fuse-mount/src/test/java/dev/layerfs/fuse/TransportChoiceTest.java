package dev.layerfs.fuse;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.Optional;
import org.junit.jupiter.api.Test;

class TransportChoiceTest {
    @Test
    void theOptionBeatsTheEnvironmentWhichBeatsTheDefault() throws Exception {
        assertEquals("kernel", TransportChoice.decide(Optional.empty(), null));
        assertEquals("kernel", TransportChoice.decide(Optional.empty(), ""));
        assertEquals("libfuse2", TransportChoice.decide(Optional.empty(), "libfuse2"));
        assertEquals("kernel", TransportChoice.decide(Optional.of("kernel"), "libfuse2"));
        assertEquals("libfuse2", TransportChoice.decide(Optional.of("libfuse2"), "kernel"));
        assertEquals("libfuse2", TransportChoice.decide(Optional.of("libfuse2"), "nonsense"),
                "the option decides; the environment is not even read");
    }

    @Test
    void anUnknownNameIsOneLineNamingWhereItCameFrom() {
        UsageException e = assertThrows(UsageException.class, () -> TransportChoice.decide(Optional.empty(), "fuse3"));
        assertEquals("LAYERFS_TRANSPORT=fuse3 is not a transport: expected kernel or libfuse2", e.getMessage());
        UsageException o = assertThrows(UsageException.class,
                () -> CommandLine.parse(new String[] {"/t", "-o", "lowerdir=/a,transport=libfuse3"}));
        assertEquals("option transport=libfuse3 is not a transport: expected kernel or libfuse2", o.getMessage());
    }

    @Test
    void theVersionNamesTheDefaultAndWhatEachSpeaks() {
        String v = Main.versionLine("libfuse2");
        assertFalse(v.contains("\n"));
        assertTrue(v.contains("(transport libfuse2; kernel, the default: FUSE up to 7."), v);
        assertTrue(v.contains("libfuse2: FUSE 7.19 through jnr-fuse and libfuse 2.9"), v);
    }
}
