package dev.layerfs.core.attr;

import static org.junit.jupiter.api.Assertions.assertEquals;

import dev.layerfs.core.nativeio.Linux;
import org.junit.jupiter.api.Test;

/** What a write by a caller without CAP_FSETID takes, as the kernel's setattr_should_drop_suidgid. */
class PrivilegesTest {
    private static final int REG = Linux.S_IFREG;

    @Test
    void setuidAlwaysGoes() {
        assertEquals(REG | 0755, Privileges.killed(REG | 04755));
        assertEquals(REG | 0600, Privileges.killed(REG | 04600));
    }

    @Test
    void setgidGoesWithGroupExecutionOnly() {
        assertEquals(REG | 0775, Privileges.killed(REG | 02775));
        assertEquals(REG | 02764, Privileges.killed(REG | 02764), "mandatory locking: kept");
        assertEquals(REG | 0777, Privileges.killed(REG | 06777));
    }

    @Test
    void otherFilesAndDirectoriesKeepTheirs() {
        assertEquals(REG | 01777, Privileges.killed(REG | 01777));
        assertEquals(Linux.S_IFDIR | 02775, Privileges.killed(Linux.S_IFDIR | 02775));
    }
}
