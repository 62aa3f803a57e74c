package dev.layerfs.core.attr;

import static org.junit.jupiter.api.Assertions.assertEquals;

import dev.layerfs.core.model.IdMapping;
import dev.layerfs.core.nativeio.Linux;
import org.junit.jupiter.api.Test;

/** What a change by a caller without CAP_FSETID takes, as the kernel's setattr_should_drop_suidgid. */
class PrivilegesTest {
    private static final int REG = Linux.S_IFREG;
    /** A caller in group 100 only. */
    private static final Privileges.Groups IN_100 = gid -> gid == 100;

    private static int killed(int mode, int gid, Privileges.Groups groups) {
        return Privileges.killed(mode, gid, groups, IdMapping.IDENTITY);
    }

    @Test
    void setuidAlwaysGoes() {
        assertEquals(REG | 0755, killed(REG | 04755, 100, IN_100));
        assertEquals(REG | 0600, killed(REG | 04600, 7, IN_100));
    }

    @Test
    void setgidGoesWithGroupExecutionOrForACallerOutsideTheGroup() {
        assertEquals(REG | 0775, killed(REG | 02775, 100, IN_100));
        assertEquals(REG | 02764, killed(REG | 02764, 100, IN_100), "mandatory locking, caller in the group");
        assertEquals(REG | 0764, killed(REG | 02764, 7, IN_100), "mandatory locking, caller outside the group");
        assertEquals(REG | 02764, killed(REG | 02764, 7, Privileges.Groups.UNKNOWN), "groups not known: kept");
        assertEquals(REG | 0777, killed(REG | 06777, 100, IN_100));
    }

    @Test
    void aCallerHoldingFsetidAndDirectoriesKeepThem() {
        assertEquals(REG | 06777, killed(REG | 06777, 7, null));
        assertEquals(REG | 01777, killed(REG | 01777, 7, IN_100));
        assertEquals(Linux.S_IFDIR | 02775, killed(Linux.S_IFDIR | 02775, 7, IN_100));
    }

    @Test
    void aChownTakesThemFromAnyFileButADirectory() {
        assertEquals(Linux.S_IFIFO | 0755, killed(Linux.S_IFIFO | 06755, 100, IN_100));
        assertEquals(Linux.S_IFIFO | 0745, killed(Linux.S_IFIFO | 02745, 7, IN_100), "outside the group");
        assertEquals(Linux.S_IFIFO | 02745, killed(Linux.S_IFIFO | 02745, 100, IN_100), "in the group");
        assertEquals(Linux.S_IFCHR | 0644, killed(Linux.S_IFCHR | 04644, 100, IN_100));
    }
}
